"""The operator's files agree with the server's stop grace, and the image builds and answers where Docker runs."""

import configparser
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from web.server import STOP_GRACE_S

ROOT = Path(__file__).resolve().parents[2]


def test_the_dockerfile_runs_serve_under_an_init_with_the_workspace_on_a_volume():
    text = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["tini", "--"]' in text and 'CMD ["loraport", "serve"]' in text
    assert "VOLUME /data" in text and "LORAPORT_HOME=/data" in text and "HEALTHCHECK" in text
    assert re.search(r'ARG TORCH_SPEC="torch==[\d.]+ --index-url \S+/cpu"', text), "CPU torch by default"
    for folder in ("core", "trainer", "tools", "agent", "web", "cli", "recipes"):
        assert f"COPY {folder} {folder}" in text, f"the image lacks {folder}/"


def test_every_service_manager_waits_longer_than_the_worker_needs_to_stop():
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    grace = int(re.search(r"stop_grace_period: (\d+)s", compose).group(1))
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read_string((ROOT / "deploy" / "loraport.service").read_text())
    assert grace > STOP_GRACE_S and int(unit["Service"]["TimeoutStopSec"]) > STOP_GRACE_S
    assert unit["Service"]["KillMode"] == "mixed"  # SIGTERM to the server alone: it stops its worker itself
    assert "loraport serve" in unit["Service"]["ExecStart"]
    assert "--stop-timeout 45" in (ROOT / "docs" / "deploy.md").read_text()


def _docker_ready() -> str | None:
    if shutil.which("docker") is None:
        return "docker is not installed"
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    return None if done.returncode == 0 else "no Docker daemon is running here"


@pytest.mark.slow
def test_the_image_builds_and_answers_health():
    reason = _docker_ready()
    if reason:
        pytest.skip(reason)
    tag, name, token = f"loraport-test:{uuid.uuid4().hex[:8]}", f"loraport-test-{uuid.uuid4().hex[:8]}", "t0k"
    build = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=1800)
    if build.returncode != 0 and "pull" in build.stderr.lower():
        pytest.skip(f"the base image cannot be pulled here: {build.stderr[-300:]}")
    assert build.returncode == 0, build.stderr[-2000:]
    try:
        subprocess.run(["docker", "run", "-d", "--name", name, "-e", f"LORAPORT_TOKEN={token}", "-p", "127.0.0.1::8000",
                        tag], check=True, capture_output=True, timeout=120)
        port = subprocess.run(["docker", "port", name, "8000"], capture_output=True, text=True,
                              check=True).stdout.split(":")[-1].strip()
        import httpx

        deadline, status = time.monotonic() + 120, None
        while time.monotonic() < deadline and status != 200:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/api/health",
                                   headers={"Authorization": f"Bearer {token}"}).status_code
            except httpx.TransportError:
                time.sleep(1)
        assert status == 200
        started = time.monotonic()
        subprocess.run(["docker", "stop", "-t", "45", name], check=True, capture_output=True, timeout=90)
        assert time.monotonic() - started < 45, "the container did not stop on SIGTERM"
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)

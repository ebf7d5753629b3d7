"""Several processes: the same entry point under torchrun, 2 CPU processes over gloo, replicas in sync."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.trainer.train_utils import concept_dataset, tiny_config

ROOT = Path(__file__).resolve().parents[2]


def _torchrun(cfg, tmp_path: Path, home: Path) -> subprocess.CompletedProcess:
    (tmp_path / "cfg.json").write_text(cfg.model_dump_json())
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "trainer.train", str(tmp_path / "cfg.json"), str(tmp_path / "run")]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "LORAPORT_HOME": str(home), "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.timeout(300)
@pytest.mark.slow
def test_two_cpu_processes_train_in_sync_with_audio_lora_params_left_without_grads(tmp_path, workspace_home):
    # video_only=False adapts the audio branch too; a video-only loss gives those parameters no gradient, the
    # case where DDP needs find_unused_parameters=True or fails on the second step.
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=4), steps=4, lora={"video_only": False},
                      checkpoints={"every": 2, "keep": 2})
    proc = _torchrun(cfg, tmp_path, workspace_home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["status"] == "finished" and report["steps"] == 4
    assert report["timings"]["world_size"] == 2 and report["timings"]["replicas_in_sync"] is True
    weights = load_file(tmp_path / "run" / "lora.safetensors")
    assert any("audio_attn1" in k for k in weights) and any(
        v.abs().sum() > 0 for k, v in weights.items() if ".attn1." in k and ".lora_B." in k)
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step-000002", "step-000004"]
    assert proc.stdout.count('"status": "finished"') == 2  # both ranks ran to the end; only rank 0 wrote files

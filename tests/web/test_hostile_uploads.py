"""Uploads a reviewer would throw at the server: odd names, empty, cut-short and malformed bodies, too many files,
a full disk, several at once. Each is refused with a plain message and leaves nothing behind, or stored intact."""

import errno
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults import wait_until
from tests.web.conftest import make_zip

BOUNDARY = "hostileboundary"


def _kept(workspace) -> list[Path]:
    """Every file under uploads/ (manifests included): what a refused request must not leave."""
    return sorted(p for p in workspace.uploads_dir.rglob("*") if p.is_file())


def _part(name: str, data: bytes, field: str = "files") -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"


def _post_raw(client, body: bytes):
    return client.post("/api/uploads", content=body,
                       headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


@pytest.mark.parametrize("sent, stored", [
    ("../../etc/cron.d/evil.mp4", "evil.mp4"),
    ("C:\\Users\\ana\\Videos\\clip 01.mp4", "clip 01.mp4"),
    ("/abs/path/style.safetensors", "style.safetensors"),
    ("clip;rm -rf ~;$(id)`x`.mp4", "clip_rm -rf ____id__x_.mp4"),
    ("ne\u0301on.mp4", "n\u00e9on.mp4"),  # decomposed é is stored composed (NFC), as macOS sends it
    ("夜の街.mp4", "夜の街.mp4"),
])
def test_odd_file_names_are_reduced_to_a_safe_base_name_inside_the_upload(client, workspace, sent, stored):
    response = client.post("/api/uploads", files=[("files", (sent, b"data"))])
    assert response.status_code == 201, response.text
    upload = response.json()[0]
    (entry,) = upload["files"]
    assert entry["name"] == stored
    folder = workspace.uploads_dir / upload["id"]
    path = Path(upload["path"]) if upload["kind"] == "lora" else Path(upload["path"]) / stored
    assert path.parent == folder and path.read_bytes() == b"data"


def test_control_characters_in_a_raw_part_header_name_become_underscores(client, workspace):
    response = _post_raw(client, _part("tab\tesc\x1b[31mnul\x00.mp4", b"data") + f"--{BOUNDARY}--\r\n".encode())
    assert response.status_code == 201, response.text
    assert response.json()[0]["files"][0]["name"] == "tab_esc__31mnul_.mp4"


def test_a_very_long_name_keeps_its_extension_and_fits_the_file_system(client, workspace):
    for name in ("a" * 400 + ".mp4", "長" * 200 + ".safetensors"):
        response = client.post("/api/uploads", files=[("files", (name, b"data"))])
        assert response.status_code == 201, response.text
        stored = response.json()[0]["files"][0]["name"]
        assert stored.endswith(Path(name).suffix) and len(stored.encode()) <= 240
        assert stored.startswith(name[:10])


def test_unicode_clip_names_still_pair_with_their_caption_files(client):
    files = [("files", ("猫.mp4", b"v1")), ("files", ("犬.mp4", b"v2")),
             ("files", ("犬.txt", "a dog".encode())), ("files", ("猫.txt", "a cat".encode()))]
    upload = client.post("/api/uploads", files=files).json()[0]
    folder = Path(upload["path"])
    assert (folder / "猫.mp4").read_bytes() == b"v1" and (folder / "猫.txt").read_text() == "a cat"
    assert (folder / "犬.mp4").read_bytes() == b"v2" and (folder / "犬.txt").read_text() == "a dog"


@pytest.mark.parametrize("name", ["", "   ", ".", "..", ".hidden.mp4", "../", "clip.exe", "set.7z", "set.tar.zst",
                                  "model.bin", "weights.pth", "noext"])
def test_unusable_or_unsupported_names_are_refused_with_the_reason(client, workspace, name):
    response = _post_raw(client, _part(name, b"data") + f"--{BOUNDARY}--\r\n".encode())
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert "file name" in error or "unsupported" in error or "pickle" in error
    assert _kept(workspace) == []


def test_one_bad_file_refuses_the_whole_request_and_keeps_none_of_it(client, workspace):
    files = [("files", ("good.safetensors", b"x" * 10)), ("files", ("a.mp4", b"v")),
             ("files", ("evil.pkl", b"\x80\x04junk"))]
    response = client.post("/api/uploads", files=files)
    assert response.status_code == 400 and "pickle" in response.json()["error"]
    assert _kept(workspace) == []


@pytest.mark.parametrize("name", ["style.safetensors", "clip.mp4", "set.zip", "still.png"])
def test_empty_files_are_refused_and_nothing_is_kept(client, workspace, name):
    response = client.post("/api/uploads", files=[("files", (name, b"")), ("files", ("other.mp4", b"v"))])
    assert response.status_code == 400
    assert "empty (0 bytes)" in response.json()["error"] and name in response.json()["error"]
    assert _kept(workspace) == []


def test_an_empty_caption_file_is_fine(client):
    response = client.post("/api/uploads", files=[("files", ("a.mp4", b"v")), ("files", ("a.txt", b""))])
    assert response.status_code == 201


def test_a_body_cut_short_before_its_closing_boundary_keeps_nothing(client, workspace):
    for body in (_part("clip.mp4", b"v" * 5000)[:-2],  # no closing boundary at all
                 _part("a.mp4", b"v") + _part("b.mp4", b"w" * 100)[:60]):  # cut inside the second part
        response = _post_raw(client, body)
        assert response.status_code == 400, response.text
        assert "cut short" in response.json()["error"]
    assert _kept(workspace) == []
    assert not list(workspace.uploads_dir.iterdir())


@pytest.mark.parametrize("content_type", [
    "multipart/form-data", "multipart/form-data; boundary=", "application/octet-stream", "text/plain", "",
    "multipart/mixed; boundary=x",
])
def test_bodies_that_are_not_multipart_forms_are_refused(client, workspace, content_type):
    response = client.post("/api/uploads", content=b"--x\r\n\r\nabc", headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["error"]
    assert _kept(workspace) == []


def test_garbage_inside_a_multipart_body_is_a_400_not_a_crash(client, workspace):
    for body in (b"\x00" * 1000, f"--{BOUNDARY}\r\nno headers here at all\r\n\r\n".encode() * 3,
                 f"--{BOUNDARY}--\r\n".encode(), b""):
        response = _post_raw(client, body)
        assert response.status_code == 400, body[:40]
        assert response.json()["error"]
    assert _kept(workspace) == []


def test_a_form_with_only_text_fields_holds_no_files(client, workspace):
    response = client.post("/api/uploads", data={"note": "hello"}, files={"x": ("", b"")})
    assert response.status_code == 400
    assert _kept(workspace) == []


def test_too_many_files_in_one_request_is_refused(client, workspace, monkeypatch):
    monkeypatch.setattr("web.uploads.MAX_FILES", 3)
    response = client.post("/api/uploads", files=[("files", (f"c{i}.mp4", b"v")) for i in range(4)])
    assert response.status_code == 400 and ".zip" in response.json()["error"]
    assert _kept(workspace) == []


def test_a_zip_that_is_not_a_zip_is_refused_at_upload(client, workspace):
    response = client.post("/api/uploads", files=[("files", ("set.zip", b"PK\x03\x04 but then junk"))])
    assert response.status_code == 400 and "not a readable zip" in response.json()["error"]
    for entry in ("/etc/passwd", "C:/Windows/evil.mp4", "clips/../../x.mp4", "..\\..\\x.mp4"):
        response = client.post("/api/uploads", files=[("files", ("set.zip", make_zip({entry: b"v", "ok.mp4": b"v"})))])
        assert response.status_code == 400, entry
    assert _kept(workspace) == []


def test_a_full_disk_while_streaming_says_so_and_keeps_nothing(client, workspace, monkeypatch):
    real_open = open

    class Full:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):
            self.f.close()

    monkeypatch.setattr("web.uploads.open", lambda *a, **k: Full(real_open(*a, **k)), raising=False)
    response = client.post("/api/uploads", files=[("files", ("clip.mp4", b"v" * 1000))])
    assert response.status_code == 507
    error = response.json()["error"]
    assert "disk is full" in error and str(workspace.uploads_dir) in error
    assert _kept(workspace) == []


def test_a_failure_filing_the_second_upload_removes_the_first(client, workspace, monkeypatch):
    import web.uploads as uploads

    real = uploads.atomic_write_json
    calls = []

    def failing(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.EIO, "I/O error")
        return real(path, data)

    monkeypatch.setattr(uploads, "atomic_write_json", failing)
    response = client.post("/api/uploads", files=[("files", ("a.safetensors", b"x")), ("files", ("b.mp4", b"v"))])
    assert response.status_code == 400 and "try sending it again" in response.json()["error"]
    assert len(calls) == 2 and _kept(workspace) == []


def test_uploads_sent_at_once_are_each_stored_whole(workspace, scripted):
    from core.settings import get_settings
    from web.app import create_app
    from web.server import ThreadedServer

    payloads = {f"clip{i}.mp4": bytes([i]) * (50_000 + i) for i in range(8)}
    with ThreadedServer(create_app(get_settings(), sidekick_factory=scripted)) as server:
        def send(item):
            name, data = item
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as http:
                return http.post("/api/uploads", files=[("files", (name, data)), ("files", ("same.txt", name.encode()))])

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(send, payloads.items()))
    assert [r.status_code for r in responses] == [201] * 8
    ids = set()
    for response in responses:
        (upload,) = response.json()
        ids.add(upload["id"])
        folder = Path(upload["path"])
        (clip,) = [f["name"] for f in upload["files"] if f["name"].endswith(".mp4")]
        assert (folder / clip).read_bytes() == payloads[clip]
        assert (folder / "same.txt").read_text() == clip  # each request's caption file stays with its clip
    assert len(ids) == 8
    assert not list(workspace.uploads_dir.glob(".incoming-*"))


def test_a_client_that_hangs_up_mid_upload_leaves_nothing(workspace, scripted):
    from core.settings import get_settings
    from web.app import create_app
    from web.server import ThreadedServer

    with ThreadedServer(create_app(get_settings(), sidekick_factory=scripted)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            head = _part("clip.mp4", b"")[:-2]
            sock.sendall(b"POST /api/uploads HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000000\r\n"
                         b"Content-Type: multipart/form-data; boundary=" + BOUNDARY.encode() + b"\r\n\r\n" + head)
            sock.sendall(b"v" * 200_000)
            assert wait_until(lambda: list(workspace.uploads_dir.glob(".incoming-*/clip.mp4")), 30), "never started"
        assert wait_until(lambda: not any(workspace.uploads_dir.iterdir()), 30), "the cut upload was left"
    assert _kept(workspace) == []


def test_a_json_body_to_the_upload_route_is_refused(client, workspace):
    response = client.post("/api/uploads", json={"files": ["/etc/passwd"]})
    assert response.status_code == 400 and "multipart" in response.json()["error"]
    assert json.loads(response.text)  # a JSON error, not a traceback page
    assert _kept(workspace) == []


def test_reading_an_upload_by_an_id_with_path_characters_is_404(client):
    for upload_id in ("up-../../etc", "..", "up-0123456789ab.json", "UP-0123456789AB", "up-%00"):
        response = client.get(f"/api/uploads/{upload_id}")
        assert response.status_code == 404, upload_id
        assert "error" in response.json()


def test_an_upload_stays_readable_while_another_is_refused(client, workspace):
    good = client.post("/api/uploads", files=[("files", ("keep.safetensors", b"x" * 10))]).json()[0]
    bad = threading.Thread(target=lambda: client.post("/api/uploads", files=[("files", ("evil.ckpt", b"x"))]))
    bad.start()
    bad.join()
    again = client.get(f"/api/uploads/{good['id']}")
    assert again.status_code == 200 and Path(again.json()["path"]).read_bytes() == b"x" * 10


def test_a_nearly_full_disk_is_named_as_the_reason_an_upload_is_refused(client, workspace, monkeypatch):
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr("web.uploads.shutil.disk_usage", lambda path: usage(10 << 30, 10 << 30, 300 << 20))
    response = client.post("/api/uploads", files=[("files", ("clip.mp4", b"v" * (64 << 20)))])
    error = response.json()["error"]
    assert response.status_code == 413 and "disk has 300.0 MiB free" in error
    assert _kept(workspace) == []
    monkeypatch.setattr("web.uploads.shutil.disk_usage", lambda path: usage(2 << 40, 1 << 40, 1 << 40))
    monkeypatch.setattr(client.app.state.settings, "max_upload_mb", 1)
    response = client.post("/api/uploads", files=[("files", ("clip.mp4", b"v" * (2 << 20)))])
    assert response.status_code == 413 and "LORAPORT_MAX_UPLOAD_MB" in response.json()["error"]


def test_a_burst_of_mixed_hostile_and_honest_requests_leaves_other_work_untouched(workspace, scripted):
    """On the real server at once: good uploads, refused uploads, junk ids, cross-site posts and two chat tabs
    (one hanging up mid-turn); a queued job and the good uploads come out exactly as they went in."""
    import asyncio

    import websockets

    from core.settings import get_settings
    from core.store import open_db
    from trainer import jobs
    from trainer.config import TrainConfig
    from web.app import create_app
    from web.server import ThreadedServer

    db = open_db(workspace)
    job_id = jobs.enqueue(db, "train", TrainConfig.model_validate({"data": {"dataset_dir": str(workspace.home)},
                                                                   "optim": {"steps": 3}}), workspace=workspace)
    with ThreadedServer(create_app(get_settings(), sidekick_factory=scripted)) as server:
        base = f"http://127.0.0.1:{server.port}"

        def request(i: int):
            with httpx.Client(base_url=base, timeout=30) as http:
                kind = i % 5
                if kind == 0:
                    return "good", http.post("/api/uploads", files=[("files", (f"c{i}.mp4", bytes([i]) * 5000))])
                if kind == 1:
                    return "pickle", http.post("/api/uploads", files=[("files", (f"m{i}.ckpt", b"\x80\x04"))])
                if kind == 2:
                    return "junk-id", http.post(f"/api/jobs/..%2F{i}/cancel")
                if kind == 3:
                    return "cross-site", http.post(f"/api/jobs/{job_id}/cancel", headers={"Origin": "https://evil.example"})
                return "cut", http.post("/api/uploads", content=_part(f"x{i}.mp4", b"v" * 100)[:-10],
                                        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})

        async def chat():
            url = f"ws://127.0.0.1:{server.port}/ws/chat/burst"
            async with websockets.connect(url) as leaving:
                await asyncio.wait_for(leaving.recv(), 20)
                await leaving.send(json.dumps({"type": "message", "text": "slow"}))
                await asyncio.wait_for(leaving.recv(), 20)  # the echo; then hang up mid-turn
            async with websockets.connect(url) as staying:
                frames = []
                while not frames or frames[-1].get("type") != "replay_end":
                    frames.append(json.loads(await asyncio.wait_for(staying.recv(), 20)))
                await staying.send(json.dumps({"type": "message", "text": "hello"}))
                while frames[-1].get("type") != "turn_end" or frames[-1].get("replay"):
                    try:
                        frames.append(json.loads(await asyncio.wait_for(staying.recv(), 20)))
                    except TimeoutError:
                        raise AssertionError(frames) from None
                return frames

        with ThreadPoolExecutor(6) as pool:
            results = pool.map(request, range(20))
            frames = asyncio.run(chat())
            results = list(results)
    expected = {"good": 201, "pickle": 400, "junk-id": 404, "cross-site": 403, "cut": 400}
    assert [(kind, r.status_code) for kind, r in results] == [(kind, expected[kind]) for kind, _ in results]
    for kind, response in results:
        assert "error" in response.json() if response.status_code >= 400 else True
        if kind == "good":
            upload = response.json()[0]
            name = upload["files"][0]["name"]
            assert (Path(upload["path"]) / name).read_bytes() == bytes([int(name[1:-4])]) * 5000
    assert "you said: hello" in "".join(f.get("text", "") for f in frames if f.get("role") == "assistant")
    assert jobs.get_job(db, job_id).status == "queued"
    assert not list(workspace.uploads_dir.glob(".incoming-*"))
    manifests = list(workspace.uploads_dir.glob("up-*.json"))
    assert len(manifests) == 4 and len([p for p in workspace.uploads_dir.iterdir() if p.is_dir()]) == 4


@pytest.mark.parametrize("disposition, stored", [
    ("form-data; name=\"files\"; filename*=UTF-8''%E7%8C%AB.mp4", "猫.mp4"),
    ("form-data; name=\"files\"; filename=\"fallback.mp4\"; filename*=UTF-8''caf%C3%A9.mp4", "café.mp4"),
    ("form-data; name=\"files\"; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd.mp4", "passwd.mp4"),
    ("form-data; name=\"files\"; filename*=utf-8'en'clip%20one.mp4", "clip one.mp4"),
    ("form-data; name=files; filename=bare.mp4", "bare.mp4"),
])
def test_rfc5987_and_other_file_name_forms_in_part_headers(client, workspace, disposition, stored):
    body = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + b"data" + \
        f"\r\n--{BOUNDARY}--\r\n".encode()
    response = _post_raw(client, body)
    assert response.status_code == 201, response.text
    upload = response.json()[0]
    assert upload["files"][0]["name"] == stored
    assert (Path(upload["path"]) / stored).read_bytes() == b"data"


def test_a_streamed_body_of_text_fields_or_padding_counts_against_the_limit(client, workspace, monkeypatch):
    monkeypatch.setattr(client.app.state.settings, "max_upload_mb", 1)

    def body():  # chunked (no Content-Length): a text field that never ends, no file part at all
        yield f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n".encode()
        for _ in range(48):
            yield b"x" * (64 * 1024)
        yield f"\r\n--{BOUNDARY}--\r\n".encode()

    response = client.post("/api/uploads", content=body(),
                           headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert response.status_code == 413 and "larger than 1 MiB" in response.json()["error"]
    assert _kept(workspace) == []

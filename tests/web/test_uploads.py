"""Uploads: stored where the agent can read them, refused cleanly when too big or unsafe."""

from pathlib import Path

from tests.web.conftest import make_zip

BOUNDARY = "loraportboundary"


def _multipart_chunks(name: str, total: int, consumed: list[int], chunk: int = 64 * 1024):
    yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n"
           "Content-Type: video/mp4\r\n\r\n").encode()
    sent = 0
    while sent < total:
        consumed[0] += chunk
        sent += chunk
        yield b"\0" * chunk
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def _leftovers(workspace) -> list[Path]:
    return [p for p in workspace.uploads_dir.rglob("*") if p.is_file()]


def test_create_uploads_splits_lora_and_dataset(client, workspace):
    files = [("files", ("old style.safetensors", b"x" * 10)), ("files", ("a.mp4", b"v" * 20)),
             ("files", ("a.txt", b"a red fox"))]
    response = client.post("/api/uploads", files=files)
    assert response.status_code == 201, response.text
    uploads = {u["kind"]: u for u in response.json()}
    lora, dataset = uploads["lora"], uploads["dataset"]
    assert Path(lora["path"]).read_bytes() == b"x" * 10 and Path(lora["path"]).name == "old style.safetensors"
    assert sorted(f["name"] for f in dataset["files"]) == ["a.mp4", "a.txt"]
    assert (Path(dataset["path"]) / "a.txt").read_text() == "a red fox"
    assert client.get(f"/api/uploads/{lora['id']}").json()["path"] == lora["path"]
    assert not list(workspace.uploads_dir.glob(".incoming-*"))


def test_upload_of_a_single_zip_hands_over_the_zip(client):
    body = make_zip({"clips/a.mp4": b"v", "clips/a.txt": b"cap"})
    upload = client.post("/api/uploads", files=[("files", ("set.zip", body))]).json()[0]
    assert upload["kind"] == "dataset" and upload["path"].endswith("set.zip")


def test_upload_refuses_zip_with_parent_entries(client, workspace):
    body = make_zip({"ok.mp4": b"v", "../../evil.sh": b"rm -rf /"})
    response = client.post("/api/uploads", files=[("files", ("set.zip", body))])
    assert response.status_code == 400
    assert "outside the dataset folder" in response.json()["error"]
    assert _leftovers(workspace) == []


def test_upload_refuses_pickle_checkpoint_with_the_reason(client, workspace):
    response = client.post("/api/uploads", files=[("files", ("old.ckpt", b"\x80\x04junk"))])
    assert response.status_code == 400 and "pickle" in response.json()["error"]
    assert _leftovers(workspace) == []


def test_upload_refuses_declared_oversize_before_reading(client, workspace, monkeypatch):
    monkeypatch.setattr(client.app.state.settings, "max_upload_mb", 1)
    consumed = [0]
    response = client.post(
        "/api/uploads", content=_multipart_chunks("big.mp4", 8 * 1024 * 1024, consumed),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                 "Content-Length": str(8 * 1024 * 1024 + 300)},
    )
    assert response.status_code == 413 and "MiB" in response.json()["error"]
    assert _leftovers(workspace) == []


def test_upload_streamed_past_limit_is_refused_while_still_streaming(workspace, scripted, monkeypatch):
    """Chunked (no Content-Length): the 413 arrives after ~1 MiB, while 63 MiB are still unsent."""
    import socket

    from core.settings import get_settings
    from web.app import create_app
    from web.server import ThreadedServer

    monkeypatch.setenv("LORAPORT_MAX_UPLOAD_MB", "1")
    consumed = [0]
    parts = _multipart_chunks("big.mp4", 64 * 1024 * 1024, consumed)
    with ThreadedServer(create_app(get_settings(), sidekick_factory=scripted)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /api/uploads HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         b"Content-Type: multipart/form-data; boundary=" + BOUNDARY.encode() + b"\r\n\r\n")
            for part in parts:  # stop writing at 2 MiB and wait for the verdict
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                if consumed[0] >= 2 * 1024 * 1024:
                    break
            reply = _read_response(sock)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"larger than 1 MiB" in reply
    assert _leftovers(workspace) == []


def test_read_upload_unknown_is_json_404(client):
    response = client.get("/api/uploads/up-000000000000")
    assert response.status_code == 404 and "upload" in response.json()["error"]


def _read_response(sock) -> bytes:
    """Headers and the whole body: the server may send them in separate segments (stops if it closes early)."""
    reply = b""
    while b"\r\n\r\n" not in reply and (chunk := sock.recv(4096)):
        reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length")), 0)
    while len(body) < length and (chunk := sock.recv(4096)):
        body += chunk
    return head + b"\r\n\r\n" + body

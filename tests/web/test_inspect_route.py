"""POST /api/inspect: an uploaded LoRA (streamed, size-capped) or a file already in the workspace."""

from fastapi.testclient import TestClient

from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora, make_ltx23_lora


def test_create_inspection_from_upload(client, workspace, tmp_path):
    path = make_ltx23_lora(tmp_path / "new.safetensors", rank=2, n_blocks=2)
    r = client.post("/api/inspect", files={"file": ("new.safetensors", path.read_bytes())})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["base_model"]["family"] == "ltx-2.3" and body["verdict"]["status"] == "native"
    assert body["health"]["checked"] is True
    assert body["path"].startswith(str(workspace.uploads_dir.resolve()))  # kept, so the agent can use it next


def test_create_inspection_from_workspace_path(client, workspace):
    path = make_ltx2_lora(workspace.home / "loras" / "old.safetensors", rank=2, n_blocks=2, metadata=ltx2_metadata())
    r = client.post("/api/inspect", json={"path": "loras/old.safetensors", "header_only": True})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"]["status"] == "loads-but-invalid" and body["health"]["checked"] is False
    assert body["path"] == str(path.resolve())


def test_create_inspection_refuses_paths_outside_the_workspace(client, tmp_path):
    outside = make_ltx23_lora(tmp_path / "elsewhere.safetensors", rank=1, n_blocks=1)
    for raw in (str(outside), "../elsewhere.safetensors"):
        r = client.post("/api/inspect", json={"path": raw})
        assert r.status_code == 403 and "outside the workspace" in r.json()["error"]


def test_create_inspection_refuses_pickle_and_junk(client, workspace):
    r = client.post("/api/inspect", files={"file": ("model.pt", b"\x80\x04junk")})
    assert r.status_code == 400 and "pickle" in r.json()["error"]
    (workspace.home / "junk.safetensors").write_bytes(b"not a lora at all")
    r = client.post("/api/inspect", json={"path": "junk.safetensors"})
    assert r.status_code == 400 and "not a valid safetensors file" in r.json()["error"]
    r = client.post("/api/inspect", json={"nothing": 1})
    assert r.status_code == 400 and "multipart" in r.json()["error"]


def test_create_inspection_enforces_the_upload_cap(workspace, monkeypatch, scripted):
    from web.app import create_app

    monkeypatch.setenv("LORAPORT_MAX_UPLOAD_MB", "1")
    with TestClient(create_app(sidekick_factory=scripted)) as client:
        r = client.post("/api/inspect", files={"file": ("big.safetensors", b"\0" * (2 * 1024 * 1024))})
    assert r.status_code == 413
    assert not list(workspace.uploads_dir.glob("up-*"))

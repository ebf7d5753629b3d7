from fastapi.testclient import TestClient

from trainer.worker_lock import WorkerLock
from web.app import create_app


def test_read_health_answers_ok_with_workspace(workspace_home):
    client = TestClient(create_app())
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["home"] == str(workspace_home)


def test_read_ready_is_503_without_a_worker_and_says_why(workspace):
    response = TestClient(create_app()).get("/api/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["ready"] is False and any("no job worker" in p for p in body["problems"])


def test_read_ready_is_200_while_a_worker_holds_the_workspace(workspace):
    lock = WorkerLock(workspace, "cpu")
    try:
        response = TestClient(create_app()).get("/api/ready")
    finally:
        lock.release()
    assert response.status_code == 200
    body = response.json()
    assert body["ready"] is True and body["workers"][0]["device"] == "cpu" and body["disk_free_mb"] > 0


def test_read_health_says_whether_the_default_model_is_a_tiny_demo_model(workspace_home, monkeypatch):
    # the panel shows its demo-model note from this flag: the registry's spec decides, not the model's name
    assert TestClient(create_app()).get("/api/health").json()["default_model_tiny"] is True  # tiny-ltx-2.3
    monkeypatch.setenv("LORAPORT_DEFAULT_MODEL", "ltx-2.5")
    body = TestClient(create_app()).get("/api/health").json()
    assert body["default_model"] == "ltx-2.5" and body["default_model_tiny"] is False

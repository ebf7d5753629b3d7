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

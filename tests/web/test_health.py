from fastapi.testclient import TestClient

from web.app import create_app


def test_read_health_answers_ok_with_workspace(workspace_home):
    client = TestClient(create_app())
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["home"] == str(workspace_home)

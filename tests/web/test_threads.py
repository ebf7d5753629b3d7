"""Threads over REST: unknown ids are JSON 404s; known ones come with their history."""


def test_read_unknown_thread_is_json_404(client):
    response = client.get("/api/threads/never-was")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/json")
    assert "never-was" in response.json()["error"]


def test_read_thread_returns_its_history(client, workspace, scripted):
    from core.store import open_db

    open_db(workspace)["threads"].insert({"id": "t1", "title": "port my style", "surface": "web"})
    list(scripted(workspace, "t1").send("hello"))
    body = client.get("/api/threads/t1").json()
    assert body["title"] == "port my style"
    assert [e["type"] for e in body["events"]] == ["text", "text", "turn_end"]
    assert [t["id"] for t in client.get("/api/threads").json()] == ["t1"]

"""Jobs over REST: records, events, the SSE stream, cancel; unknown ids are JSON 404s."""

import json

from core.events import JobEvent
from core.store import open_db
from trainer import jobs
from trainer.config import TrainConfig


def _job(workspace, thread_id=None) -> tuple[str, object]:
    db = open_db(workspace)
    cfg = TrainConfig.model_validate({"data": {"dataset_dir": str(workspace.home), "trigger_word": "zorbly"},
                                      "optim": {"steps": 3}})
    return jobs.enqueue(db, "train", cfg, thread_id=thread_id, workspace=workspace), db


def test_list_and_read_jobs_filtered_by_thread(client, workspace):
    mine, db = _job(workspace, thread_id="t1")
    _job(workspace, thread_id="t2")
    listed = client.get("/api/jobs", params={"thread_id": "t1"}).json()
    assert [j["job_id"] for j in listed] == [mine]
    assert client.get(f"/api/jobs/{mine}").json()["status"] == "queued"


def test_job_events_page_after_an_id(client, workspace):
    job_id, db = _job(workspace)
    run_dir = jobs.get_job(db, job_id).run_dir
    jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="train", type="progress", step=1, loss=0.5))
    first, second = client.get(f"/api/jobs/{job_id}/events").json()
    assert [first["type"], second["type"]] == ["queued", "progress"]
    assert client.get(f"/api/jobs/{job_id}/events", params={"after": first["id"]}).json() == [second]


def test_stream_job_events_as_sse_until_terminal(client, workspace):
    job_id, db = _job(workspace)
    run_dir = jobs.get_job(db, job_id).run_dir
    for step in (1, 2, 3):
        jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="train", type="progress", step=step, loss=1.0))
    jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="train", type="finished", step=3))
    with client.stream("GET", f"/api/jobs/{job_id}/stream", headers={"Last-Event-ID": "1"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        body = "".join(response.iter_text())
    data = [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {\"")]
    assert [(d["type"], d["step"]) for d in data] == [("progress", 1), ("progress", 2), ("progress", 3),
                                                      ("finished", 3)]
    assert body.rstrip().endswith("event: end\ndata: {}")


def test_cancel_a_queued_job(client, workspace):
    job_id, _ = _job(workspace)
    assert client.post(f"/api/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    again = client.post(f"/api/jobs/{job_id}/cancel")
    assert again.status_code == 400 and "already cancelled" in again.json()["error"]


def test_unknown_job_is_json_404_everywhere(client):
    for path in ("/api/jobs/nope", "/api/jobs/nope/events", "/api/jobs/nope/stream", "/api/jobs/nope/report",
                 "/api/jobs/nope/lora"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "nope" in response.json()["error"]

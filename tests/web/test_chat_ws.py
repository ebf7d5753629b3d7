"""The chat websocket: streaming, bad frames, several tabs, disconnects and reconnects, live job events."""

import time

import pytest

from core.events import JobEvent
from core.store import open_db
from tests.web.conftest import receive_until
from trainer import jobs


def test_chat_streams_agent_events_to_the_sender(client):
    with client.websocket_connect("/ws/chat/t1") as ws:
        assert ws.receive_json()["type"] == "replay_end"
        ws.send_json({"type": "message", "text": "hello"})
        frames = receive_until(ws, "turn_end")
    assert frames[0] == {"type": "text", "role": "user", "text": "hello", "uploads": []}
    assert "".join(f["text"] for f in frames[1:] if f["type"] == "text") == "you said: hello"


def test_malformed_frames_get_an_error_and_the_socket_stays_open(client, scripted):
    with client.websocket_connect("/ws/chat/t1") as ws:
        ws.receive_json()
        for bad in ("not json", "[1, 2]", '{"type": "dance"}', '{"type": "message"}', '{"type": "approve"}',
                    '{"type": "message", "text": "hi", "uploads": ["up-nothere"]}'):
            ws.send_text(bad)
            frame = ws.receive_json()
            assert frame["type"] == "error" and frame["message"], bad
        ws.send_json({"type": "message", "text": "still here"})
        frames = receive_until(ws, "turn_end")
    assert any(f.get("text") == "still here" for f in frames)
    assert [r[2] for r in scripted.received] == ["still here"]  # nothing malformed reached the agent


def test_agent_failure_becomes_an_error_event_not_a_disconnect(client):
    with client.websocket_connect("/ws/chat/t1") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "boom"})
        frames = receive_until(ws, "error")
        assert "internal error" in frames[-1]["message"]
        ws.send_json({"type": "message", "text": "again"})
        assert receive_until(ws, "turn_end")


def test_two_tabs_on_one_thread_both_receive_events(client):
    with client.websocket_connect("/ws/chat/shared") as a, client.websocket_connect("/ws/chat/shared") as b:
        a.receive_json(), b.receive_json()
        a.send_json({"type": "message", "text": "from a"})
        seen_a, seen_b = receive_until(a, "turn_end"), receive_until(b, "turn_end")
    assert seen_a == seen_b
    assert seen_b[0]["role"] == "user" and seen_b[0]["text"] == "from a"


@pytest.mark.slow
def test_disconnect_mid_stream_lets_the_turn_finish_and_reconnect_replays_it(client, scripted):
    with client.websocket_connect("/ws/chat/t2") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "slow"})
        assert ws.receive_json()["role"] == "user"
        assert ws.receive_json()["text"] == "part0 "
    # the tab is gone; the turn goes on. A new tab waits for it and replays all of it.
    with client.websocket_connect("/ws/chat/t2") as ws:
        frames = receive_until(ws, "replay_end")
    texts = [f["text"] for f in frames if f["type"] == "text"]
    assert texts == [f"part{i} " for i in range(10)]
    assert all(f["replay"] for f in frames[:-1])


@pytest.mark.slow
def test_approval_launches_and_job_events_stream_live_then_replay(client, workspace):
    with client.websocket_connect("/ws/chat/t3") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "launch"})
        request = next(f for f in receive_until(ws, "turn_end") if f["type"] == "approval_request")
        ws.send_json({"type": "approve", "id": request["id"]})
        job_id = next(f for f in receive_until(ws, "turn_end") if f["type"] == "tool_end")["result"]["job_id"]
        queued = receive_until(ws, "job_event")[-1]
        assert queued["event"]["job_id"] == job_id and queued["event"]["type"] == "queued"
        # the worker's events, written to the trainer's store, reach the open tab without asking
        db = open_db(workspace)
        run_dir = jobs.get_job(db, job_id).run_dir
        for step in (1, 2):
            jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="train", type="progress", step=step,
                                                    total=4, loss=1.0 / step))
        live = [receive_until(ws, "job_event")[-1]["event"] for _ in range(2)]
        assert [(e["type"], e["step"]) for e in live] == [("progress", 1), ("progress", 2)]
    jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="train", type="finished", step=4, total=4))
    db.close()
    with client.websocket_connect("/ws/chat/t3") as ws:
        frames = receive_until(ws, "replay_end")
    replayed = [f["event"]["type"] for f in frames if f["type"] == "job_event"]
    assert replayed == ["queued", "progress", "progress", "finished"]  # each once, in order
    assert [f["type"] for f in frames if f["type"] == "approval_request"] == ["approval_request"]


def test_message_with_uploads_hands_the_agent_their_stored_paths(client, scripted):
    upload = client.post("/api/uploads", files=[("files", ("old.safetensors", b"x"))]).json()[0]
    with client.websocket_connect("/ws/chat/t4") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "port this", "uploads": [upload["id"]]})
        echo = receive_until(ws, "turn_end")[0]
    assert echo["uploads"][0]["id"] == upload["id"]
    assert scripted.received[0][2:] == ("port this", [upload["path"]])


def test_reject_reaches_the_agent(client, scripted):
    with client.websocket_connect("/ws/chat/t5") as ws:
        ws.receive_json()
        ws.send_json({"type": "reject", "id": "ap-9"})
        receive_until(ws, "turn_end")
    assert scripted.received == [("t5", "reject", "ap-9")]


def test_invalid_thread_id_is_refused_with_an_error(client):
    with client.websocket_connect("/ws/chat/-bad!id") as ws:
        assert ws.receive_json()["type"] == "error"


@pytest.mark.slow
def test_turns_on_one_thread_run_in_the_order_sent(client, scripted):
    with client.websocket_connect("/ws/chat/t6") as ws:
        ws.receive_json()
        for text in ("slow", "one", "two"):
            ws.send_json({"type": "message", "text": text})
        deadline = time.monotonic() + 10
        while len([r for r in scripted.received if r[0] == "t6"]) < 3 and time.monotonic() < deadline:
            ws.receive_json()
    assert [r[2] for r in scripted.received] == ["slow", "one", "two"]

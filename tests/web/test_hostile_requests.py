"""Requests a reviewer would send by hand: malformed JSON, wrong types, ids with path characters, NUL bytes,
binary websocket frames, other web sites' pages and missing tokens. Each gets a 4xx with a plain message (or an
error frame) and changes nothing."""

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from core.store import open_db
from tests.web.conftest import receive_until
from trainer import jobs
from trainer.config import TrainConfig
from web.app import create_app


def _queued_job(workspace, thread_id=None) -> str:
    db = open_db(workspace)
    cfg = TrainConfig.model_validate({"data": {"dataset_dir": str(workspace.home)}, "optim": {"steps": 3}})
    try:
        return jobs.enqueue(db, "train", cfg, thread_id=thread_id, workspace=workspace)
    finally:
        db.close()


def _status(workspace, job_id: str) -> str:
    db = open_db(workspace)
    try:
        return jobs.get_job(db, job_id).status
    finally:
        db.close()


def _plain_error(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error and "Traceback" not in error
    return error


# --- JSON bodies -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [
    b"{not json", b"", b"null", b"[]", b'"path"', b"12", b'{"path": 5}', b'{"path": ""}', b'{"path": null}',
    b'{"path": "a.safetensors", "target": 123}', b'{"path": "a.safetensors", "header_only": "false"}',
    b'{"path": "a.safetensors", "header_only": 1}', b'{"path": "a.safetensors", "tagret": "ltx-2.3"}',
    b'{"path": ["a", "b"]}', b"\xff\xfe{\x00}", b'{"path": "' + b"a" * 5000 + b'"}',
])
def test_inspect_json_bodies_of_the_wrong_shape_are_400(client, body):
    error = _plain_error(client.post("/api/inspect", content=body, headers={"Content-Type": "application/json"}), 400)
    assert "JSON" in error or "multipart" in error


def test_inspect_paths_with_nul_or_outside_the_workspace(client, workspace, tmp_path):
    assert "NUL" in _plain_error(client.post("/api/inspect", json={"path": "loras/a\x00.safetensors"}), 400)
    outside = tmp_path / "outside.safetensors"
    outside.write_bytes(b"x")
    (workspace.home / "escape.safetensors").symlink_to(outside)
    for raw in ("escape.safetensors", "~/.ssh/id_rsa", "/proc/self/environ", "uploads/../../outside.safetensors"):
        assert "outside the workspace" in _plain_error(client.post("/api/inspect", json={"path": raw}), 403), raw


def test_inspect_of_an_unknown_target_or_a_missing_file_is_400_or_404(client, workspace):
    from tests.tools.lora_factory import make_ltx23_lora

    make_ltx23_lora(workspace.home / "old.safetensors", rank=1, n_blocks=1)
    error = _plain_error(client.post("/api/inspect", json={"path": "old.safetensors", "target": "sdxl"}), 400)
    assert "target" in error.lower()
    response = client.post("/api/inspect", json={"path": "nothing-here.safetensors"})
    assert response.status_code in (400, 404) and response.json()["error"]


@pytest.mark.parametrize("body", [
    {}, {"prompt": "x"}, {"lora_job_id": 5, "prompt": "x"}, {"lora_job_id": "a", "prompt": ""},
    {"lora_job_id": "a", "prompt": "x", "seed": -1}, {"lora_job_id": "a", "prompt": "x", "seed": "42abc"},
    {"lora_job_id": "a", "prompt": "x", "width": 33}, {"lora_job_id": "a", "prompt": "x", "width": 10**9},
    {"lora_job_id": "a", "prompt": "x", "frames": 100000}, {"lora_job_id": "a", "prompt": "x", "steps": 0},
    {"lora_job_id": "a", "prompt": "x", "lora_strength": float("inf")},
    {"lora_job_id": "a", "lora_upload_id": "up-0123456789ab", "prompt": "x"},
    {"lora_job_id": "a", "prompt": "x" * 5000},
])
def test_studio_requests_of_the_wrong_shape_are_422_and_render_nothing(client, workspace, body):
    import json

    response = client.post("/api/studio/generate", content=json.dumps(body, allow_nan=True),
                           headers={"Content-Type": "application/json"})
    assert _plain_error(response, 422).startswith("Bad request")
    assert open_db(workspace)["jobs"].count == 0


def test_studio_with_malformed_json_or_unknown_ids_is_a_plain_error(client, workspace):
    bad = client.post("/api/studio/generate", content=b'{"lora_job_id": "a", ', headers={"Content-Type": "application/json"})
    assert "JSON" in _plain_error(bad, 422)
    assert "no job" in _plain_error(client.post("/api/studio/generate", json={"lora_job_id": "../../etc/passwd",
                                                                              "prompt": "x"}), 404)
    assert "upload ids" in _plain_error(client.post("/api/studio/generate", json={"lora_upload_id": "../x",
                                                                                  "prompt": "x"}), 404)
    assert open_db(workspace)["jobs"].count == 0


@pytest.mark.parametrize("frames, nearest", [(2, 1), (16, 9), (100, 97), (256, 249)])
def test_studio_frames_off_the_8k_plus_1_rule_are_a_400_before_any_job(client, workspace, tmp_path, frames, nearest):
    from tests.tools.lora_factory import make_ltx23_lora

    lora = make_ltx23_lora(tmp_path / "a.safetensors", rank=1, n_blocks=1)
    upload = client.post("/api/uploads", files=[("files", ("a.safetensors", lora.read_bytes()))]).json()[0]
    response = client.post("/api/studio/generate", json={"lora_upload_id": upload["id"], "prompt": "x",
                                                         "frames": frames})
    assert f"use {nearest}" in _plain_error(response, 400)
    assert open_db(workspace)["jobs"].count == 0


@pytest.mark.parametrize("query", ["", "?lora_job_id=a&lora_upload_id=up-0123456789ab", "?lora_job_id="])
def test_studio_check_and_lora_info_must_name_exactly_one_lora(client, query):
    for route in ("/api/studio/check", "/api/studio/lora-info"):
        assert "exactly one LoRA" in _plain_error(client.get(route + query), 400)


def test_studio_reference_upload_that_is_a_lora_or_several_files_is_refused(client, workspace):
    lora = client.post("/api/uploads", files=[("files", ("a.safetensors", b"x"))]).json()[0]
    clips = client.post("/api/uploads", files=[("files", ("a.mp4", b"v")), ("files", ("b.mp4", b"w"))]).json()[0]
    job_id = _queued_job(workspace)  # no LoRA yet: refused before any reference is looked at
    response = client.post("/api/studio/generate", json={"lora_job_id": job_id, "prompt": "x",
                                                         "reference_upload_id": clips["id"]})
    assert "no LoRA yet" in _plain_error(response, 400)
    response = client.post("/api/studio/generate", json={"lora_upload_id": clips["id"], "prompt": "x"})
    assert "not a LoRA" in _plain_error(response, 400)
    assert lora["kind"] == "lora"


def test_caption_edits_with_wrong_types_or_foreign_files_change_nothing(client, workspace):
    for body in ({"media": 5, "caption": "x"}, {"media": "a.mp4"}, {"media": "a.mp4", "caption": None},
                 {"media": "a.mp4", "caption": "x" * 5000}):
        assert _plain_error(client.put("/api/datasets/ds-1/captions", json=body), 422)
    response = client.put("/api/datasets/ds-1/captions", content=b"{", headers={"Content-Type": "application/json"})
    assert "JSON" in _plain_error(response, 422)
    response = client.put("/api/datasets/nope/captions", json={"media": "../../../etc/passwd", "caption": "x"})
    assert "no imported dataset" in _plain_error(response, 404)


# --- ids and paths in the URL ------------------------------------------------------------------------------------
@pytest.mark.parametrize("job_id", ["nope", "..", "...", "%2e%2e", "a%00b", "j-" + "9" * 300, "'; DROP TABLE jobs;--",
                                    "%E2%80%AE", "job id with spaces"])
def test_unknown_or_hostile_job_ids_are_404_on_every_job_route(client, workspace, job_id):
    real = _queued_job(workspace)
    for method, route in (("GET", ""), ("GET", "/events"), ("GET", "/report"), ("GET", "/lora"),
                          ("GET", "/stream"), ("POST", "/cancel")):
        response = client.request(method, f"/api/jobs/{job_id}{route}")
        assert response.status_code == 404, (job_id, route, response.text)
        assert response.json()["error"]
    assert _status(workspace, real) == "queued", "a hostile id must not touch another job"
    assert open_db(workspace)["jobs"].count == 1


@pytest.mark.parametrize("path", ["runs/a%00b.mp4", "%00", "runs/%00/../../loraport.db", "datasets/x/%00.png",
                                  "uploads/" + "a" * 5000 + ".mp4", "runs/%E2%80%AE4pm.exe"])
def test_file_paths_with_nul_or_absurd_names_are_404(client, path):
    _plain_error(client.get(f"/api/files/{path}"), 404)


@pytest.mark.parametrize("thread_id", ["nope", "..%2F..%2Fetc", "a%00", "x" * 500])
def test_unknown_threads_are_404(client, thread_id):
    for route in ("", "/state"):
        assert client.get(f"/api/threads/{thread_id}{route}").status_code == 404


@pytest.mark.parametrize("query", ["limit=0", "limit=-5", "limit=abc", "limit=99999999999999999999", "limit=1.5",
                                   "after=-1", "after=100000000000000000000000", "after=9223372036854775808"])
def test_query_parameters_out_of_range_are_422(client, workspace, query):
    job_id = _queued_job(workspace)
    for route in ("/api/jobs", "/api/threads", f"/api/jobs/{job_id}/events"):
        response = client.get(f"{route}?{query}")
        if route.endswith("events") == query.startswith("after"):
            assert _plain_error(response, 422).startswith("Bad request"), (route, query)


@pytest.mark.parametrize("headers, query", [({"Last-Event-ID": "99999999999999999999999"}, ""),
                                            ({"Last-Event-ID": "-3"}, ""), ({"Last-Event-ID": "abc"}, ""),
                                            ({}, "?after=99999999999999999999999")])
def test_an_event_stream_cursor_sqlite_cannot_hold_is_a_422_before_streaming(client, workspace, headers, query):
    job_id = _queued_job(workspace)
    response = client.get(f"/api/jobs/{job_id}/stream{query}", headers=headers)
    assert _plain_error(response, 422).startswith("Bad request")


# --- the chat websocket ------------------------------------------------------------------------------------------
def test_binary_and_odd_frames_get_an_error_frame_and_the_socket_stays_open(client, scripted):
    with client.websocket_connect("/ws/chat/t1") as ws:
        assert ws.receive_json()["type"] == "replay_end"
        ws.send_bytes(b'{"type": "message", "text": "as bytes"}')
        assert ws.receive_json()["type"] == "error"
        ws.send_bytes(b"\x00\xff" * 100)
        assert "JSON text" in ws.receive_json()["message"]
        for bad in ('{"type": "message", "text": 5}', '{"type": "message", "text": "   "}',
                    '{"type": "message", "text": "x", "uploads": "up-0123456789ab"}',
                    '{"type": "message", "text": "x", "uploads": ["../../etc/passwd"]}',
                    '{"type": "message", "text": "x", "uploads": [null]}', '{"type": "approve", "id": 7}',
                    '{"type": "reject", "id": ""}', '{"type": null}', '"message"', "1e999", "{" * 10000,
                    '{"type": "message", "text": "' + "x" * 20_001 + '"}'):
            ws.send_text(bad)
            frame = ws.receive_json()
            assert frame["type"] == "error" and frame["message"], bad
        ws.send_json({"type": "message", "text": "still here"})
        frames = receive_until(ws, "turn_end")
    assert any(f.get("text") == "still here" for f in frames)
    assert [r[2] for r in scripted.received] == ["still here"]


def test_a_message_naming_too_many_or_repeated_uploads(client, scripted):
    upload = client.post("/api/uploads", files=[("files", ("a.mp4", b"v"))]).json()[0]
    with client.websocket_connect("/ws/chat/t1") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "x", "uploads": [upload["id"]] * 51})
        assert "at most 50" in ws.receive_json()["message"]
        ws.send_json({"type": "message", "text": "these", "uploads": [upload["id"]] * 3})
        frames = receive_until(ws, "turn_end")
    assert [u["id"] for u in frames[0]["uploads"]] == [upload["id"]]  # named three times, attached once
    assert scripted.received == [("t1", "send", "these", [upload["path"]])]


def test_message_text_with_control_and_template_characters_reaches_the_agent_as_data(client, scripted):
    text = "{{7*7}} ${jndi:ldap://x} {trigger} <script>alert(1)</script> \x1b[31m"
    with client.websocket_connect("/ws/chat/t1") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": text})
        frames = receive_until(ws, "turn_end")
    assert scripted.received == [("t1", "send", text)]
    assert frames[0]["text"] == text  # echoed as JSON data; the page renders it as text, never as markup


@pytest.mark.parametrize("thread_id", ["-leading", "a" * 81, "with space", "semi;colon", "%2e%2e"])
def test_hostile_thread_ids_are_refused_and_reach_no_agent(client, scripted, thread_id):
    with client.websocket_connect(f"/ws/chat/{thread_id}") as ws:
        frame = ws.receive_json()
        assert frame["type"] == "error" and "Thread ids" in frame["message"]
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    assert scripted.received == []


def test_a_tab_that_rejoins_while_the_turn_it_left_still_runs_hears_its_next_answer(client, scripted):
    """The room was forgotten when the old turn ended while the new tab waited to join: the agent then got the
    new tab's messages but their answers went to a room no tab was in."""
    with client.websocket_connect("/ws/chat/t7") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "slow"})
        assert ws.receive_json()["role"] == "user"  # leave at once: the turn runs on for ~0.5 s
    with client.websocket_connect("/ws/chat/t7") as ws:
        receive_until(ws, "replay_end")  # joined after that turn ended
        ws.send_json({"type": "message", "text": "hello"})
        frames = receive_until(ws, "turn_end")
    assert "".join(f.get("text", "") for f in frames if f.get("role") == "assistant") == "you said: hello"


def test_a_tab_that_leaves_mid_turn_does_not_disturb_another_threads_job(client, workspace, scripted):
    job_id = _queued_job(workspace, thread_id="t2")
    with client.websocket_connect("/ws/chat/t1") as ws:
        ws.receive_json()
        ws.send_json({"type": "message", "text": "slow"})
        ws.receive_json()  # the echo; then leave while the turn streams
    with client.websocket_connect("/ws/chat/t2") as other:
        other.receive_json()
        other.send_json({"type": "message", "text": "hello"})
        frames = receive_until(other, "turn_end")
    assert "".join(f.get("text", "") for f in frames if f.get("role") == "assistant") == "you said: hello"
    assert _status(workspace, job_id) == "queued"


# --- other web sites, DNS rebinding and the token ----------------------------------------------------------------
EVIL = "https://evil.example"
PANEL = "http://127.0.0.1:8000"  # where the panel is opened: a loopback address, as `loraport serve` binds


@pytest.fixture
def local(workspace, scripted):
    with TestClient(create_app(sidekick_factory=scripted), base_url=PANEL) as c:
        yield c


def test_a_post_from_another_site_is_refused_and_changes_nothing(local, workspace):
    client = local
    job_id = _queued_job(workspace)
    for origin in (EVIL, "null", "http://127.0.0.1.evil.example", "http://testserver.evil.example"):
        response = client.post(f"/api/jobs/{job_id}/cancel", headers={"Origin": origin})
        assert "another web site" in _plain_error(response, 403), origin
    response = client.post("/api/uploads", files=[("files", ("a.mp4", b"v"))], headers={"Origin": EVIL})
    assert response.status_code == 403
    assert _status(workspace, job_id) == "queued" and not any(workspace.uploads_dir.iterdir())
    # The panel itself (same origin) and scripts (no Origin) are served.
    assert client.post(f"/api/jobs/{job_id}/cancel", headers={"Origin": PANEL}).status_code == 200


def test_a_text_plain_json_post_from_another_site_cannot_inspect(local, workspace):
    response = local.post("/api/inspect", content=b'{"path": "loraport.db"}',
                           headers={"Content-Type": "text/plain", "Origin": EVIL})
    assert response.status_code == 403


def test_a_websocket_from_another_site_is_refused_before_the_agent_sees_it(local, scripted):
    with pytest.raises(WebSocketDisconnect):
        with local.websocket_connect("ws://127.0.0.1:8000/ws/chat/t1", headers={"Origin": EVIL}) as ws:
            ws.send_json({"type": "approve", "id": "ap-1"})
            ws.receive_json()
    assert scripted.received == []
    with local.websocket_connect("ws://127.0.0.1:8000/ws/chat/t1", headers={"Origin": PANEL}) as ws:
        assert ws.receive_json()["type"] == "replay_end"


def test_a_rebound_domain_is_refused_without_a_token(workspace, scripted):
    """A site that points its own name at 127.0.0.1 looks same-origin; its name still arrives as Host."""
    with TestClient(create_app(sidekick_factory=scripted), base_url="http://rebind.evil.example:8000") as c:
        same_site = {"Origin": "http://rebind.evil.example:8000"}
        assert "loopback" in _plain_error(c.get("/api/jobs", headers={"Sec-Fetch-Site": "same-origin"}), 403)
        assert c.post("/api/jobs/x/cancel", headers=same_site).status_code == 403
        assert c.get("/api/health").status_code == 200  # a script (no browser headers) may use any name
    for base in ("http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"):
        with TestClient(create_app(sidekick_factory=scripted), base_url=base) as c:
            assert c.get("/api/jobs", headers={"Origin": base, "Sec-Fetch-Site": "same-origin"}).status_code == 200


def test_behind_a_proxy_that_rewrites_host_the_refusal_names_the_setting_to_set(local):
    response = local.post("/api/jobs/x/cancel", headers={"Origin": "https://loraport.example.com"})
    assert "LORAPORT_PUBLIC_URL" in _plain_error(response, 403)


def test_the_public_url_and_a_proxys_forwarded_host_count_as_this_server(workspace, scripted, monkeypatch):
    monkeypatch.setenv("LORAPORT_PUBLIC_URL", "https://loraport.example.com/")
    with TestClient(create_app(sidekick_factory=scripted), base_url="http://127.0.0.1:8000") as c:
        ok = c.get("/api/jobs", headers={"Origin": "https://loraport.example.com", "Sec-Fetch-Site": "same-origin"})
        assert ok.status_code == 200
        forwarded = c.get("/api/jobs", headers={"Origin": "https://panel.internal", "X-Forwarded-Host": "panel.internal"})
        assert forwarded.status_code == 200
        assert c.get("/api/jobs", headers={"Origin": EVIL}).status_code == 403
    with TestClient(create_app(sidekick_factory=scripted), base_url="https://loraport.example.com") as c:
        assert c.get("/api/jobs", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 200


@pytest.fixture
def guarded(monkeypatch, scripted):
    monkeypatch.setenv("LORAPORT_TOKEN", "s3cret-token")
    with TestClient(create_app(sidekick_factory=scripted)) as c:
        yield c


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "}, {"Authorization": "Basic czNjcmV0"},
    {"Authorization": "Bearer s3cret"}, {"X-Loraport-Token": ""}, {"Cookie": "loraport_token=wrong"},
    {"Cookie": "loraport_token"}, {"Cookie": "\x00;;;=;"}, {"Authorization": "Bearer s3cret-token-and-more"},
    {"Authorization": "Bearer S3CRET-TOKEN"},
])
def test_requests_without_the_right_token_are_401_and_change_nothing(guarded, workspace, headers):
    job_id = _queued_job(workspace)
    response = guarded.post(f"/api/jobs/{job_id}/cancel", headers=headers)
    assert "token" in _plain_error(response, 401)
    assert _status(workspace, job_id) == "queued"
    response = guarded.post("/api/uploads", files=[("files", ("a.mp4", b"v"))], headers=headers)
    assert response.status_code == 401 and not any(workspace.uploads_dir.iterdir())


def test_non_ascii_bytes_in_token_headers_are_a_401_not_a_crash(guarded):
    for name in (b"authorization", b"x-loraport-token", b"cookie"):
        value = b"Bearer s3cret-t\xf8ken" if name == b"authorization" else b"loraport_token=\xf8\xff" if name == b"cookie" else b"\xf8"
        assert guarded.get("/api/health", headers=[(name, value)]).status_code == 401, name
    assert guarded.get("/api/health", params={"token": "s3cret-tøken"}).status_code == 401
    assert guarded.get("/api/health", params={"token": "s3cret-token"}).status_code == 200


def test_the_token_does_not_excuse_another_sites_origin(guarded, workspace):
    job_id = _queued_job(workspace)
    response = guarded.post(f"/api/jobs/{job_id}/cancel",
                            headers={"Authorization": "Bearer s3cret-token", "Origin": EVIL})
    assert response.status_code == 403 and _status(workspace, job_id) == "queued"
    with TestClient(guarded.app, base_url="http://any-name.example") as c:  # with a token, any Host name is fine
        ok = c.get("/api/health", headers={"Authorization": "Bearer s3cret-token", "Sec-Fetch-Site": "same-origin"})
        assert ok.status_code == 200


@pytest.mark.parametrize("name, data", [("ref.mp4", b"not a video at all"), ("ref.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 50),
                                        ("ref.webm", b"<html>404</html>")])
def test_an_ic_lora_reference_that_is_not_media_is_refused_before_any_job(client, workspace, tmp_path, name, data):
    from tests.tools.lora_factory import make_ltx23_lora
    from trainer.reference import reference_metadata

    lora = make_ltx23_lora(tmp_path / "ic.safetensors", rank=1, n_blocks=1,
                           metadata={**reference_metadata(), "loraport.base_model": "tiny-ltx-2.3"})
    ic = client.post("/api/uploads", files=[("files", ("ic.safetensors", lora.read_bytes()))]).json()[0]
    ref = client.post("/api/uploads", files=[("files", (name, data))]).json()[0]
    response = client.post("/api/studio/generate", json={"lora_upload_id": ic["id"], "prompt": "a cat",
                                                         "reference_upload_id": ref["id"], "steps": 1})
    assert name in _plain_error(response, 400)
    assert open_db(workspace)["jobs"].count == 0, "refused from the headers, not by a failed render job"


def _chunks(total: int, head: bytes = b'{"lora_job_id": "a", "prompt": "'):
    yield head
    for _ in range(total // (1 << 16)):
        yield b"x" * (1 << 16)
    yield b'"}'


@pytest.mark.parametrize("method, route", [("POST", "/api/studio/generate"), ("PUT", "/api/datasets/d/captions"),
                                           ("POST", "/api/jobs/x/cancel")])
def test_a_json_body_over_the_limit_is_a_json_413_declared_or_streamed(client, workspace, method, route):
    declared = client.request(method, route, content=b"{" + b" " * (2 << 20) + b"}",
                              headers={"Content-Type": "application/json"})
    assert "JSON bodies are limited" in _plain_error(declared, 413)
    if "cancel" not in route:  # a route that reads its body stops a chunked one at the limit (cancel reads none)
        streamed = client.request(method, route, content=_chunks(2 << 20), headers={"Content-Type": "application/json"})
        assert "JSON bodies are limited" in _plain_error(streamed, 413)
    assert open_db(workspace)["jobs"].count == 0


def test_an_inspect_json_body_over_64_kib_is_refused_without_reading_it_all(client):
    response = client.post("/api/inspect", content=_chunks(8 << 20, b'{"path": "'),
                           headers={"Content-Type": "application/json"})
    assert "64 KiB" in _plain_error(response, 413)


def test_without_the_token_a_huge_body_is_a_401_first(guarded):
    response = guarded.post("/api/studio/generate", content=b"{" + b" " * (2 << 20) + b"}",
                            headers={"Content-Type": "application/json"})
    assert response.status_code == 401


def test_a_tab_that_stops_reading_is_closed_so_it_reconnects_instead_of_going_silent(monkeypatch):
    import asyncio

    from web import chat_hub

    monkeypatch.setattr(chat_hub, "QUEUE_MAX", 5)

    class StuckSocket:  # a browser tab that stopped reading: the first send never completes until released
        def __init__(self):
            self.release, self.sent, self.closed_with = asyncio.Event(), [], None

        async def send_json(self, frame):
            await self.release.wait()
            self.sent.append(frame)

        async def close(self, code=1000, reason=""):
            self.closed_with = code

    async def scenario():
        ws = StuckSocket()
        conn = chat_hub.Conn(ws)
        pump = asyncio.create_task(conn.pump())
        for i in range(20):  # far more than the queue holds while the first send hangs
            conn.offer({"type": "text", "text": str(i)})
            await asyncio.sleep(0)
        ws.release.set()
        await asyncio.wait_for(pump, 5)
        return ws, conn

    ws, conn = asyncio.run(scenario())
    assert conn.closed and ws.closed_with == 1013  # the page's socket closes: it reconnects and replays
    assert len(ws.sent) <= 2


def test_a_dataset_reference_named_with_nul_or_that_is_not_media_is_a_plain_error(tmp_path):
    from core.errors import LoraportError
    from tests.tools.lora_factory import make_ltx23_lora
    from tools.references import pick_reference
    from trainer.reference import reference_metadata

    ds = tmp_path / "ds"
    ds.mkdir()
    (ds / "notes_ref.mp4").write_text("a text file with a video's name")
    config = {"data": {"dataset_dir": str(ds)}, "strategy": {"name": "ic-lora"}}
    lora = make_ltx23_lora(tmp_path / "ic.safetensors", rank=1, n_blocks=1, metadata=reference_metadata())
    for media, says in (("a\x00.mp4", "file of the LoRA's dataset"), ("notes_ref.mp4", "notes_ref.mp4"),
                        ("../ic.safetensors", "file of the LoRA's dataset")):
        with pytest.raises(LoraportError, match=says):
            pick_reference(lora, config=config, media=media)


@pytest.mark.parametrize("any_path", [False, True])
def test_a_path_typed_in_chat_with_nul_or_outside_the_workspace_is_refused_plainly(workspace, any_path):
    from agent.toolkit import ToolContext
    from core.errors import LoraportError

    ctx = ToolContext(workspace=workspace, thread_id="t", state={}, any_path=any_path)
    with pytest.raises(LoraportError, match="NUL"):
        ctx.user_path("uploads/a\x00.safetensors")
    if not any_path:  # over the web or a chat app only the workspace's files
        for raw in ("/etc/passwd", "~/.ssh/id_rsa", "uploads/../../x"):
            with pytest.raises(LoraportError, match="not one of your uploads"):
                ctx.user_path(raw)

"""Which of a thread's frames become chat messages: one reply per turn, approvals, and a few per job."""

from pathlib import Path

from web.bots.milestones import JobInfo, Milestones


def _progress(job, step, total=8, **kw):
    return {"type": "job_event", "event": {"job_id": job, "kind": "train", "type": "progress", "step": step,
                                           "total": total, **kw}}


def test_text_deltas_become_one_message_per_turn():
    m = Milestones()
    assert m.feed({"type": "text", "text": "Hello "}) == [] and m.feed({"type": "text", "text": "there."}) == []
    assert m.feed({"type": "text", "role": "user", "text": "echo"}) == []  # the user's own words are not re-posted
    [post] = m.feed({"type": "turn_end"})
    assert (post.kind, post.text) == ("text", "Hello there.")
    assert m.feed({"type": "turn_end"}) == []


def test_approval_flushes_the_reply_first_and_carries_its_requester():
    m = Milestones()
    m.feed({"type": "text", "text": "Here is the plan."})
    posts = m.feed({"type": "approval_request", "id": "ap-9", "tool": "launch_training", "summary": "Train 12 steps",
                    "by": "U1"})
    assert [p.kind for p in posts] == ["text", "approval"]
    assert (posts[1].approval_id, posts[1].requester, posts[1].text) == ("ap-9", "U1", "Train 12 steps")


def test_progress_posts_each_quarter_once_and_only_the_highest_crossed():
    m = Milestones()
    said = [p.text for step in range(1, 9) for p in m.feed(_progress("j1", step, loss=0.5, eta_s=30))]
    assert [t.split(":")[0] for t in said] == ["Training 25%", "Training 50%", "Training 75%", "Training 100%"]
    assert "loss 0.5000" in said[0] and "about 30 s left" in said[0] and "left" not in said[-1]
    jumpy = Milestones()
    assert [p.text.split(":")[0] for p in jumpy.feed(_progress("j2", 7))] == ["Training 75%"]
    assert jumpy.feed(_progress("j2", 7)) == []


def test_finished_training_names_the_trigger_word_and_attaches_the_lora(tmp_path):
    lora = tmp_path / "lora.safetensors"
    lora.write_bytes(b"x")
    m = Milestones(lambda job_id: JobInfo(kind="train", lora_path=lora, trigger_word="sks", steps=12, final_loss=0.1))
    [post] = m.feed({"type": "job_event", "event": {"job_id": "j1", "kind": "train", "type": "finished"}})
    assert post.kind == "finished" and post.file == lora and "`sks`" in post.text and "12 steps" in post.text
    gone = Milestones(lambda job_id: JobInfo(kind="train", lora_path=Path("/nowhere/lora.safetensors")))
    [post] = gone.feed({"type": "job_event", "event": {"job_id": "j1", "kind": "train", "type": "finished"}})
    assert post.file is None and "loraport panel" in post.text


def test_failures_cancels_and_errors_are_posted_and_replays_are_not():
    m = Milestones()
    [failed] = m.feed({"type": "job_event", "event": {"job_id": "j1", "type": "failed", "message": "out of memory"}})
    assert "failed" in failed.text and "out of memory" in failed.text
    [cancelled] = m.feed({"type": "job_event", "event": {"job_id": "j1", "type": "cancelled"}})
    assert "cancelled" in cancelled.text
    assert m.feed({"type": "error", "message": "bad file"})[0].kind == "error"
    assert m.feed({**_progress("j3", 8), "replay": True}) == []
    assert m.feed({"type": "job_event", "event": {"job_id": "j1", "type": "checkpoint", "step": 4}}) == []


def test_evaluation_summary_is_posted_unless_the_reply_already_says_it():
    m = Milestones()
    m.feed({"type": "tool_end", "tool": "evaluate", "result": {"summary": "Held-out loss 12% below base."}})
    m.feed({"type": "text", "text": "Done."})
    assert [p.text for p in m.feed({"type": "turn_end"})] == ["Done.", "Evaluation: Held-out loss 12% below base."]
    m.feed({"type": "tool_end", "tool": "evaluate", "result": {"summary": "Held-out loss 12% below base."}})
    m.feed({"type": "text", "text": "Held-out loss 12% below base."})
    assert len(m.feed({"type": "turn_end"})) == 1


def test_an_evaluation_job_posts_its_summary_when_it_finishes():
    m = Milestones(lambda job_id: JobInfo(kind="evaluate", summary="Stronger than base on 3 of 3 prompts."))
    [post] = m.feed({"type": "job_event", "event": {"job_id": "e1", "kind": "evaluate", "type": "finished"}})
    assert post.text == "Evaluation (job e1): Stronger than base on 3 of 3 prompts."

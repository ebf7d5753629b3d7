"""`loraport train`, `loraport jobs ...` and `loraport worker` as a user runs them (through cli.main.main)."""

import json
from pathlib import Path

import pytest

from cli.main import main
from core.store import open_db
from core.workspace import Workspace
from tests.trainer import fake_jobs
from tests.trainer.clips import make_clip
from trainer import jobs, worker


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code or 0, out, err


@pytest.fixture
def count_kind(monkeypatch):
    from tools.jobs import JOB_KINDS

    monkeypatch.setitem(JOB_KINDS, "count", fake_jobs.count_runner)  # what the CLI's workers run
    monkeypatch.setitem(worker.JOB_RUNNERS, "count", fake_jobs.count_runner)  # a worker started in-test


@pytest.fixture
def three_clips(tmp_path) -> Path:
    folder = tmp_path / "clips"
    for i, color in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200)]):
        make_clip(folder / f"clip{i}.mp4", frames=17, color=color, pattern="moving")
        (folder / f"clip{i}.txt").write_text(f"a square moving right, colour {i}")
    return folder


@pytest.mark.slow
def test_unknown_job_id_is_a_clear_error_with_exit_2(capsys):
    for command in (["jobs", "show", "train-nope"], ["jobs", "cancel", "train-nope"],
                    ["jobs", "resume", "train-nope", "--json"]):
        code, out, err = _cli(capsys, *command)
        assert code == 2 and out == ""
        assert err.startswith("error: no job with id 'train-nope'") and "Traceback" not in err


@pytest.mark.slow
def test_jobs_list_show_cancel_resume_with_json(capsys, workspace):
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 2})
    code, out, _ = _cli(capsys, "jobs", "list", "--json")
    assert code == 0 and [r["job_id"] for r in json.loads(out)] == [job_id]
    code, out, _ = _cli(capsys, "jobs", "cancel", job_id, "--json")
    assert code == 0 and json.loads(out)["status"] == "cancelled"
    code, out, _ = _cli(capsys, "jobs", "resume", job_id, "--detach", "--json")
    assert code == 0 and json.loads(out)["status"] == "queued"
    code, out, _ = _cli(capsys, "jobs", "show", job_id, "--events", "--json")
    shown = json.loads(out)
    assert [e["type"] for e in shown["events"]] == ["queued", "cancelled", "queued"]
    code, out, _ = _cli(capsys, "jobs", "list", "--status", "finished", "--json")
    assert json.loads(out) == []


@pytest.mark.slow
def test_worker_once_runs_the_queue_and_resume_runs_in_the_foreground(capsys, workspace, count_kind):
    db = open_db(workspace)
    first = jobs.enqueue(db, "count", {"steps": 3})
    code, _, err = _cli(capsys, "worker", "--once", "--device", "cpu")
    assert code == 0 and "ran 1 job" in err
    assert jobs.get_job(db, first).status == "finished"
    second = jobs.enqueue(db, "count", {"steps": 3})
    jobs.request_cancel(db, second)
    code, out, _ = _cli(capsys, "jobs", "resume", second, "--json")
    assert code == 0 and json.loads(out)["status"] == "finished"


def test_home_flag_and_loraport_home_pick_the_workspace(capsys, tmp_path, workspace, count_kind):
    jobs.enqueue(open_db(workspace), "count", {"steps": 1})
    other = tmp_path / "other-home"
    code, out, _ = _cli(capsys, "--home", str(other), "jobs", "list", "--json")
    assert code == 0 and json.loads(out) == [] and (other / "loraport.db").is_file()


@pytest.mark.slow
def test_train_detach_only_queues_and_says_no_worker_runs(capsys, workspace_home, three_clips):
    code, out, err = _cli(capsys, "train", "--recipe", "none", "--dataset", str(three_clips), "--steps", "3",
                          "--detach", "--json")
    record = json.loads(out)
    assert code == 0 and record["status"] == "queued" and record["total"] == 3
    assert record["run_dir"].startswith(str(workspace_home / "runs"))
    assert "loraport worker" in err


def test_train_refuses_a_missing_dataset_with_exit_2(capsys, tmp_path):
    code, out, err = _cli(capsys, "train", "--recipe", "none", "--dataset", str(tmp_path / "missing"), "--json")
    assert code == 2 and out == "" and "neither a folder nor a dataset id" in err


@pytest.mark.slow
def test_train_json_on_three_clips_finishes_with_a_lora_file(capsys, workspace_home, three_clips):
    code, out, err = _cli(capsys, "train", "--recipe", "none", "--dataset", str(three_clips), "--steps", "3",
                          "--rank", "4", "--checkpoint-every", "2", "--trigger", "zxq", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "finished" and record["steps"] == 3 and record["final_loss"] is not None
    assert Path(record["lora_path"]).is_file() and record["lora_path"].startswith(str(workspace_home))
    from safetensors import safe_open

    with safe_open(record["lora_path"], "pt") as f:
        assert any(k.startswith("diffusion_model.") and "lora_A" in k for k in f.keys())
    db = open_db(Workspace(workspace_home))
    found = jobs.events(db, record["job_id"])
    types = [e["type"] for e in found]
    assert types[:2] == ["queued", "started"] and types[-1] == "finished"
    assert [e["step"] for e in found if e["type"] == "progress"] == [1, 2, 3] and "checkpoint" in types
    lines = (Path(record["run_dir"]) / "events.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == found


@pytest.mark.slow
def test_ctrl_c_stops_a_foreground_train_resumably_and_jobs_resume_finishes_it(capsys, workspace_home, three_clips):
    import os
    import signal
    import subprocess
    import sys
    import time

    loraport = Path(sys.executable).parent / "loraport"
    proc = subprocess.Popen(
        [str(loraport), "train", "--recipe", "none", "--dataset", str(three_clips), "--steps", "120", "--rank", "4",
         "--checkpoint-every", "3", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    db = open_db(Workspace(workspace_home))
    try:
        deadline = time.monotonic() + 180
        while not db.execute("SELECT 1 FROM job_events WHERE type = 'checkpoint'").fetchone():
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    stopped = json.loads(out)
    assert proc.returncode == 1 and stopped["status"] == "interrupted" and 3 <= stopped["step"] < 120
    assert (Path(stopped["run_dir"]) / "checkpoints").is_dir()
    code, out, _ = _cli(capsys, "jobs", "resume", stopped["job_id"], "--json")
    record = json.loads(out)
    assert code == 0 and record["status"] == "finished" and record["steps"] == 120
    assert record["result"]["resumed_from"] >= 3


@pytest.mark.slow
def test_jobs_show_follow_waits_for_a_detached_job_to_end(capsys, workspace, count_kind):
    import threading

    job_id = jobs.enqueue(open_db(workspace), "count", {"steps": 5, "sleep_s": 0.05})
    runner = threading.Timer(0.3, lambda: worker.run_worker(workspace, once=True, device="cpu"))
    runner.start()
    code, out, err = _cli(capsys, "jobs", "show", job_id, "--follow", "--json")
    runner.join()
    assert code == 0 and json.loads(out)["status"] == "finished" and json.loads(out)["steps"] == 5


FF_TARGETS = "to_q,to_k,to_v,to_out.0,ff.net.0.proj,ff.net.2"


@pytest.mark.slow
def test_train_set_targets_and_size_trains_feed_forward_keys(capsys, workspace_home, three_clips):
    code, out, err = _cli(capsys, "train", "--recipe", "none", "--dataset", str(three_clips), "--steps", "10",
                          "--rank", "4", "--set", f"targets={FF_TARGETS}", "--set", "resolution=64x64",
                          "--set", "frames=9", "--set", "lr=2e-3", "--json")
    assert code == 0, err
    record = json.loads(out)
    assert record["status"] == "finished" and record["steps"] == 10
    config = json.loads((Path(record["run_dir"]) / "config.json").read_text())
    assert config["lora"]["target_modules"] == FF_TARGETS.split(",")
    assert config["data"]["buckets"] == [{"width": 64, "height": 64, "frames": 9}]
    assert config["optim"]["learning_rate"] == 2e-3 and config["lora"]["rank"] == 4
    from safetensors.torch import load_file

    keys = load_file(record["lora_path"])
    for linear in ("ff.net.0.proj", "ff.net.2"):
        assert keys[f"diffusion_model.transformer_blocks.0.{linear}.lora_B.weight"].abs().sum() > 0


@pytest.mark.slow
def test_train_set_goes_through_the_plans_applier_with_a_recipe(capsys, workspace_home, three_clips):
    code, out, err = _cli(capsys, "train", "--recipe", "style", "--dataset", str(three_clips), "--detach",
                          "--set", "targets=attn1.to_q,ff.net.2", "--set", "frames=9", "--set", "steps=40",
                          "--set", "quantize_base=int8", "--json")
    assert code == 0, err
    config = json.loads((Path(json.loads(out)["run_dir"]) / "config.json").read_text())
    assert config["recipe"] == "style" and config["optim"]["steps"] == 40
    assert config["lora"]["target_modules"] == ["attn1.to_q", "ff.net.2"]
    assert {b["frames"] for b in config["data"]["buckets"]} == {9} and config["model"]["quantize_base"] == "int8"


@pytest.mark.parametrize("setting, message", [("bogus=1", "unknown setting 'bogus'"),
                                              ("frames=12", "8k\\+1"), ("rank=0", "rank=0 is out of range"),
                                              ("steps", "not NAME=VALUE")])
def test_train_set_refuses_bad_overrides_before_queueing(capsys, workspace_home, three_clips, setting, message):
    import re

    code, out, err = _cli(capsys, "train", "--recipe", "none", "--dataset", str(three_clips), "--set", setting)
    assert code == 2 and re.search(message, err), err
    assert not (workspace_home / "runs").exists() or not any((workspace_home / "runs").iterdir())


@pytest.mark.slow
def test_train_set_target_that_matches_nothing_fails_the_run_naming_it(capsys, workspace_home, three_clips):
    code, out, err = _cli(capsys, "train", "--recipe", "none", "--dataset", str(three_clips), "--steps", "2",
                          "--set", "targets=to_q,ff.net.9", "--json")
    record = json.loads(out)
    assert code == 1 and record["status"] == "failed"
    assert "ff.net.9 match no Linear" in record["error"] and "ff.net.0.proj" in record["error"]


def test_a_finished_ic_lora_job_is_reported_with_how_to_use_it_with_a_reference(workspace, tmp_path, capsys):
    from cli.train import report
    from tests.agent.conftest import tiny_config
    from trainer.reference import ic_lora_usage

    plain = tiny_config(tmp_path)
    config = plain.model_copy(update={"strategy": plain.strategy.model_copy(update={"name": "ic-lora"})})
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "train", config, workspace=workspace)
    db["jobs"].update(job_id, {"status": "finished", "lora_path": str(tmp_path / "ref.safetensors")})
    report(jobs.get_job(db, job_id), as_json=False)
    usage = ic_lora_usage(config.model_dump(mode="json"), tmp_path / "ref.safetensors")
    assert usage and usage in capsys.readouterr().out
    db["jobs"].update(job_id, {"config": json.dumps(plain.model_dump(mode="json"))})
    report(jobs.get_job(db, job_id), as_json=False)
    assert "IC-LoRA" not in capsys.readouterr().out

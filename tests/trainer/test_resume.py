"""Never lose a run: a stopped or killed run resumes to the very weights an uninterrupted run reaches."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from core.errors import LoraportError
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import checkpoints
from trainer.train import run_training

ROOT = Path(__file__).resolve().parents[2]


def _stop_after(n: int):
    events = []

    def should_stop() -> bool:
        return sum(e["type"] == "progress" for e in events) >= n

    return events.append, should_stop


@pytest.mark.slow
def test_resume_after_cancel_ends_with_the_same_weights_as_an_uninterrupted_run(tmp_path):
    ds = concept_dataset(tmp_path / "ds", n=4)
    cfg = tiny_config(ds, steps=10, optim={"schedule": "linear", "warmup_steps": 2}, lora={"dropout": 0.1})
    straight = run_training(cfg, tmp_path / "straight")
    emit, stop = _stop_after(5)
    first = run_training(cfg, tmp_path / "resumed", emit=emit, should_stop=stop)
    assert first.status == "cancelled" and first.steps == 5
    second = run_training(cfg, tmp_path / "resumed")
    assert second.status == "finished" and second.resumed_from == 5 and second.steps == 10
    a, b = load_file(straight.lora_path), load_file(second.lora_path)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert second.losses == straight.losses
    rows = [json.loads(line) for line in (tmp_path / "resumed" / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(1, 11))


@pytest.mark.slow
def test_resume_after_sigkill_ends_with_the_same_weights(tmp_path):
    ds = concept_dataset(tmp_path / "ds", n=4)
    steps = 120  # ~20 ms each: long enough that the kill, sent at the first checkpoint, lands mid-run
    cfg = tiny_config(ds, steps=steps, checkpoints={"every": 4, "keep": 3})
    (tmp_path / "cfg.json").write_text(cfg.model_dump_json())
    run_dir = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "trainer.train", str(tmp_path / "cfg.json"), str(run_dir)],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while checkpoints.latest_checkpoint(run_dir / "checkpoints") is None:
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    assert not (run_dir / "lora.safetensors").exists()  # it really died mid-run
    resumed = run_training(cfg, run_dir)
    assert resumed.resumed_from is not None and resumed.resumed_from < steps and resumed.steps == steps
    straight = run_training(cfg, tmp_path / "straight")
    a, b = load_file(straight.lora_path), load_file(resumed.lora_path)
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_resume_refuses_changed_rank_listing_old_and_new(tmp_path):
    ds = concept_dataset(tmp_path / "ds", n=2)
    emit, stop = _stop_after(2)
    run_training(tiny_config(ds, steps=6), tmp_path / "run", emit=emit, should_stop=stop)
    changed = tiny_config(ds, steps=6, lora={"rank": 8, "alpha": 8}, optim={"learning_rate": 5e-4})
    with pytest.raises(LoraportError) as err:
        run_training(changed, tmp_path / "run")
    assert "rank: 4 -> 8" in err.value.message and "learning_rate: 0.001 -> 0.0005" in err.value.message
    assert "start a new run" in err.value.message
    fresh = run_training(changed, tmp_path / "run", resume=False)  # an explicit fresh start is allowed
    assert fresh.resumed_from is None and fresh.steps == 6


@pytest.mark.slow
def test_half_written_checkpoints_are_never_picked(tmp_path):
    ds = concept_dataset(tmp_path / "ds", n=2)
    emit, stop = _stop_after(2)
    run_training(tiny_config(ds, steps=6), tmp_path / "run", emit=emit, should_stop=stop)
    root = tmp_path / "run" / "checkpoints"
    (root / "step-000009").mkdir()  # renamed into place but incomplete (no state.json): cannot happen, still ignored
    (root / "step-000009" / "lora.safetensors").write_bytes(b"")
    torn = root / ".tmp-step-000010-123"  # what a kill during save leaves
    torn.mkdir()
    (torn / "state.json").write_text("{}")
    assert checkpoints.latest_checkpoint(root) == root / "step-000002"
    result = run_training(tiny_config(ds, steps=6), tmp_path / "run")
    assert result.resumed_from == 2 and result.steps == 6
    assert not torn.exists()  # cleaned up by the next save


def test_checkpoint_rotation_keeps_the_newest_k(tmp_path):
    lora_sd = {"w.lora_A.weight": torch.ones(2, 2)}
    for step in (1, 2, 3, 4):
        checkpoints.save_checkpoint(tmp_path, step, lora=lora_sd, optimizer={"state": {}, "param_groups": []},
                                    rng=checkpoints.rng_state(), losses=[(step, 1.0)], fp={"rank": 2}, keep=2)
    assert [s for s, _ in checkpoints.list_checkpoints(tmp_path)] == [3, 4]
    ck = checkpoints.load_checkpoint(tmp_path / "step-000004", {"rank": 2})
    assert ck.step == 4 and torch.equal(ck.lora["w.lora_A.weight"], torch.ones(2, 2)) and ck.losses == [(4, 1.0)]

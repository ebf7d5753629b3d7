"""Estimates: measured on this machine when possible (and cached), else a labelled table; disk from sizes."""

import json

import pytest

from core.workspace import Workspace
from tools.plan import estimate as est
from tools.plan.hardware import Hardware
from trainer.config import Bucket, DataConfig, LoraConfig, ModelConfig, OptimConfig, TrainConfig

CPU = Hardware(device="cpu", name="CPU: test")


def config(model="tiny-ltx-2.3", rank=32, steps=100, dataset_dir="/d", buckets=((64, 64, 17),), **kw):
    return TrainConfig(model=ModelConfig(id=model), lora=LoraConfig(rank=rank, alpha=rank),
                       optim=OptimConfig(steps=steps),
                       data=DataConfig(dataset_dir=dataset_dir, buckets=[Bucket(width=w, height=h, frames=f)
                                                                        for w, h, f in buckets]), **kw)


def test_lora_params_match_the_real_ltx23_shapes():
    # video-only q/k/v/out of attn1 + attn2 in 48 blocks: 384 Linears of 4096 -> 4096 (docs/ltx.md)
    assert est.lora_params(config("ltx-2.3", rank=32)) == 384 * 32 * (4096 + 4096)
    assert est.lora_params(config("ltx-2.3", rank=16)) * 2 == est.lora_params(config("ltx-2.3", rank=32))


def test_table_estimate_is_labelled_and_scales_with_steps_and_rank_disk():
    h100 = Hardware(device="cuda", name="NVIDIA H100 80GB HBM3", vram_gb=79.2)
    a = est.estimate(config("ltx-2.3", steps=1000, buckets=((960, 544, 49),)), h100, n_items=20, calibrate=False)
    b = est.estimate(config("ltx-2.3", steps=2000, buckets=((960, 544, 49),)), h100, n_items=20, calibrate=False)
    assert a.basis == "table" and "not measured" in a.note
    assert b.seconds_low > a.seconds_low and a.seconds_high > a.seconds_low
    assert a.disk_mb.lora == pytest.approx(384 * 32 * 8192 * 4 / 2**20, rel=1e-3)
    assert a.disk_mb.cache > 0 and a.disk_mb.checkpoints > 3 * a.disk_mb.lora


@pytest.mark.slow
def test_measured_calibration_runs_real_steps_once_and_is_cached(tmp_path, monkeypatch):
    from tests.trainer.clips import make_clip

    for i in range(2):
        make_clip(tmp_path / "set" / f"c{i}.mp4", frames=9, size=(64, 64), color=(80 * i, 30, 30))
    cfg = config(rank=4, steps=50, dataset_dir=str(tmp_path / "set"), buckets=((64, 64, 9),))
    first = est.estimate(cfg, CPU, n_items=2)
    assert first.basis == "measured" and first.per_step_s > 0
    cache = json.loads((Workspace.from_settings().home / est.CALIBRATION_FILE).read_text())
    assert list(cache) == [est.calibration_key(cfg, CPU)]

    def no_training(*a, **k):
        raise AssertionError("a cached calibration must not train again")

    monkeypatch.setattr("trainer.train.run_training", no_training)
    again = est.estimate(cfg, CPU, n_items=2)
    assert again.basis == "measured" and again.per_step_s == first.per_step_s
    other_rank = est.estimate(cfg.model_copy(update={"lora": LoraConfig(rank=8, alpha=8)}), CPU, n_items=2,
                              calibrate=False)
    assert other_rank.basis == "table"  # the cache is keyed by rank


def test_a_calibration_is_kept_in_the_workspace_it_was_asked_for(tmp_path):
    from tests.trainer.clips import make_clip

    for i in range(2):
        make_clip(tmp_path / "set" / f"c{i}.mp4", frames=9, size=(64, 64), color=(80 * i, 30, 30))
    cfg = config(rank=4, steps=50, dataset_dir=str(tmp_path / "set"), buckets=((64, 64, 9),))
    other = Workspace(tmp_path / "other-home").ensure()
    assert est.estimate(cfg, CPU, n_items=2, workspace=other).basis == "measured"
    assert list(json.loads((other.home / est.CALIBRATION_FILE).read_text())) == [est.calibration_key(cfg, CPU)]
    assert not (Workspace.from_settings().home / est.CALIBRATION_FILE).exists()  # --home is honoured
    assert est.estimate(cfg, CPU, n_items=2, workspace=other, calibrate=False).basis == "measured"


def test_human_range_says_one_figure_when_both_ends_round_alike():
    from tools.plan.estimate import human_range

    assert human_range(100, 130) == "2 min"
    assert human_range(30, 200) == "30 s to 3 min"


@pytest.mark.parametrize("model", ["tiny-ltx-2.3", "tiny-ltx-2.5"])
@pytest.mark.parametrize("video_only,targets", [
    (True, None), (False, None), (True, ["to_q", "to_k", "to_v", "to_out.0", "ff.net.0.proj", "ff.net.2"])])
def test_lora_params_are_what_the_trainer_adapts(model, video_only, targets):
    # the estimate's disk figures and the memory plan count the same adapter the trainer builds, feed-forward
    # targets included (an attention-only count left them out of the disk estimate)
    from tools.plan.memory import lora_params as memory_lora_params
    from trainer import lora
    from trainer.models import load_components

    cfg = config(model, rank=4)
    cfg.lora = LoraConfig(rank=4, alpha=4, video_only=video_only, **({"target_modules": targets} if targets else {}))
    transformer = load_components(cfg.model).transformer
    lora.add_lora(transformer, cfg.lora)
    adapted = sum(p.numel() for p in lora.lora_parameters(transformer))
    assert est.lora_params(cfg) == adapted == memory_lora_params(model, 4, tuple(cfg.lora.target_modules), video_only)
    assert est.disk_need(cfg, 1).lora == pytest.approx(adapted * 4 / 2**20, abs=0.01)

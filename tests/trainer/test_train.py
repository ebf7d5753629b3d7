"""The training loop on the tiny model: it learns, it writes its files, it reports, it stops when asked."""

import json

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from core.errors import LoraportError
from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer import lora
from trainer.batches import BatchOrder
from trainer.config import LoraConfig, ModelConfig, OptimConfig
from trainer.data import prepare_dataset
from trainer.losses import holdout_loss
from trainer.models import load_components
from trainer.progress import STEADY_AFTER
from trainer.train import lr_at, run_training


@pytest.mark.slow
def test_lora_learns_the_concept_holdout_loss_clearly_below_base(tmp_path):
    cfg = tiny_config(concept_dataset(tmp_path / "ds"), steps=80, lora={"rank": 8, "alpha": 8},
                      checkpoints={"every": 40})
    result = run_training(cfg, tmp_path / "run")
    assert result.status == "finished" and result.steps == 80
    print("holdout", result.holdout_loss, "base", result.holdout_loss_base)
    assert result.holdout_loss < 0.8 * result.holdout_loss_base
    # The exported file, loaded the way users load it, scores the same on the held-out clip.
    components = load_components(cfg.model)
    items = prepare_dataset(cfg, components, tmp_path / "run" / "cache").holdout  # the run's own cache
    assert len(items) == 1
    with_file = holdout_loss(components, items, result.lora_path)
    assert with_file == pytest.approx(result.holdout_loss, rel=1e-4)
    assert holdout_loss(components, items) == pytest.approx(result.holdout_loss_base, rel=1e-4)


@pytest.mark.slow
def test_run_writes_config_losses_report_and_lora(tmp_path):
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=5), steps=5)  # 5 clips: the smallest set with a holdout
    result = run_training(cfg, tmp_path / "run")
    run = tmp_path / "run"
    assert json.loads((run / "config.json").read_text()) == json.loads(cfg.model_dump_json())
    rows = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5] and all(r["loss"] > 0 for r in rows)
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "finished" and report["steps"] == 5 and report["final_loss"] == rows[-1]["loss"]
    assert report["losses"][-1] == [5, rows[-1]["loss"]] and report["holdout_curve"][-1][0] == 5
    assert {"setup_s", "train_s", "total_s", "steps_per_s"} <= set(report["timings"])
    assert result.lora_path == run / "lora.safetensors"
    with safe_open(str(result.lora_path), "pt") as f:
        assert f.keys() and all(k.startswith("diffusion_model.") and ".lora_" in k for k in f.keys())
        assert f.metadata()["loraport.steps"] == "5"
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step-000004", "step-000005"]


@pytest.mark.slow
def test_cancel_stops_at_the_next_step_and_keeps_a_checkpoint(tmp_path):
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=50)
    events = []
    result = run_training(cfg, tmp_path / "run", emit=events.append,
                          should_stop=lambda: sum(e["type"] == "progress" for e in events) >= 6)
    assert result.status == "cancelled" and result.steps == 6
    assert (tmp_path / "run" / "checkpoints" / "step-000006" / "state.json").is_file()
    assert events[-1]["type"] == "checkpoint" and events[-1]["step"] == 6
    assert json.loads((tmp_path / "run" / "report.json").read_text())["status"] == "cancelled"


@pytest.mark.slow
def test_progress_events_report_speed_and_eta_only_after_warmup(tmp_path):
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=6)
    events = []
    run_training(cfg, tmp_path / "run", emit=events.append)
    progress = [e for e in events if e["type"] == "progress"]
    assert [e["step"] for e in progress] == list(range(1, 7)) and all(e["total"] == 6 for e in progress)
    assert all(e["it_per_s"] is None and e["eta_s"] is None for e in progress[:STEADY_AFTER])
    assert progress[STEADY_AFTER]["it_per_s"] > 0
    last = progress[-1]
    assert last["it_per_s"] > 0 and last["eta_s"] == 0 and last["peak_mem_mb"] > 0
    assert last["lr"] == pytest.approx(1e-3) and last["loss"] > 0


def test_lr_schedule_warms_up_then_follows_the_named_curve():
    lin = OptimConfig(steps=110, learning_rate=1.0, warmup_steps=10, schedule="linear")
    assert [lr_at(s, lin) for s in (0, 4, 9)] == pytest.approx([0.1, 0.5, 1.0])
    # Linear decays to 10% of the peak at the end of the run, not to 0.
    assert [lr_at(s, lin) for s in (10, 60, 109, 110)] == pytest.approx([1.0, 0.55, 0.109, 0.1])
    cos = lin.model_copy(update={"schedule": "cosine"})
    assert [lr_at(s, cos) for s in (10, 60)] == pytest.approx([1.0, 0.5])
    const = lin.model_copy(update={"schedule": "constant", "warmup_steps": 0})
    assert {lr_at(s, const) for s in range(110)} == {1.0}


def test_linear_schedule_without_warmup_is_torchs_linear_lr_from_1_to_a_tenth():
    cfg = OptimConfig(steps=50, learning_rate=2e-4, schedule="linear")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.learning_rate)
    ref = torch.optim.lr_scheduler.LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=cfg.steps)
    for step in range(cfg.steps):
        assert lr_at(step, cfg) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-9)
        opt.step()
        ref.step()
    assert lr_at(cfg.steps, cfg) == pytest.approx(0.1 * cfg.learning_rate)


@pytest.mark.slow
def test_gradient_checkpointing_and_accumulation_train_like_the_plain_loop(tmp_path):
    ds = concept_dataset(tmp_path / "ds", n=3)
    plain = run_training(tiny_config(ds, steps=3), tmp_path / "a")
    ckpt = run_training(tiny_config(ds, steps=3, optim={"gradient_checkpointing": True}), tmp_path / "b")
    assert [v for _, v in ckpt.losses] == pytest.approx([v for _, v in plain.losses], rel=1e-5)
    accum = run_training(tiny_config(ds, steps=3, optim={"grad_accum": 2, "batch_size": 2}), tmp_path / "c")
    assert accum.status == "finished" and all(v > 0 for _, v in accum.losses)


@pytest.mark.slow
def test_adamw8bit_without_cuda_falls_back_to_adamw_and_says_why(tmp_path):
    events = []
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=2), steps=1, optim={"optimizer": "adamw8bit"})
    assert run_training(cfg, tmp_path / "run", emit=events.append).status == "finished"
    assert any("AdamW8bit" in (e.get("message") or "") for e in events)


def test_lora_targets_video_attention_only_or_all_six_families():
    video = load_components(ModelConfig()).transformer
    names = lora.add_lora(video, LoraConfig(rank=2, alpha=2))
    assert {n.split(".")[2] for n in names} == {"attn1", "attn2"}
    assert len(names) == 2 * 2 * 4  # layers x families x q/k/v/out
    assert all(p.dtype == torch.float32 for p in lora.lora_parameters(video))
    both = load_components(ModelConfig()).transformer
    names = lora.add_lora(both, LoraConfig(rank=2, alpha=2, video_only=False))
    assert {n.split(".")[2] for n in names} == set(lora.VIDEO_FAMILIES + lora.AUDIO_FAMILIES)
    assert len(names) == 2 * 6 * 4


@pytest.mark.slow
def test_unknown_lora_target_is_refused_with_the_usual_names():
    with pytest.raises(LoraportError, match="to_q"):
        lora.add_lora(load_components(ModelConfig()).transformer, LoraConfig(target_modules=["query"]))


def test_batches_never_mix_buckets_and_cover_every_item_each_epoch():
    keys = ["a"] * 5 + ["b"] * 3
    order = BatchOrder(keys, batch_size=2, seed=3)
    epoch = [order.batch(n) for n in range(order.per_epoch)]
    assert sorted(i for b in epoch for i in b) == list(range(8))
    assert all(len({keys[i] for i in b}) == 1 for b in epoch)
    assert epoch != [order.batch(n) for n in range(order.per_epoch, 2 * order.per_epoch)]  # reshuffled
    assert BatchOrder(keys, 2, seed=3).batch(7) == order.batch(7)  # a pure function of (seed, n)


@pytest.mark.slow
def test_ic_lora_run_trains_on_reference_clips(tmp_path):
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=5, ref=True), steps=3, strategy={"name": "ic-lora"})
    result = run_training(cfg, tmp_path / "run")
    assert result.status == "finished" and result.holdout_loss is not None
    with safe_open(str(result.lora_path), "pt") as f:
        assert f.metadata()["loraport.strategy"] == "ic-lora"


@pytest.mark.slow
def test_validation_samples_show_the_base_at_step_zero_and_the_lora_as_it_is_now(tmp_path):
    from trainer.media import decode
    from trainer.sample import PLAIN_GUIDANCE, generate

    # Plain CFG: the cheapest passes. (The differences once blamed on the modality-isolation pass came from the
    # H.264 encoder, not the pipeline: see test_media's heap test.)
    val = {"every": 2, "prompts": ["a white square"], "seeds": [3], "width": 64, "height": 64, "frames": 9,
           "inference_steps": 2, "guidance": PLAIN_GUIDANCE.model_dump()}
    # An fp32 file, so the sample from it can equal the in-training one (the tiny model's noise-like output
    # amplifies the bf16 rounding of the default export well past the pixel tolerance).
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=4, validation=val,
                      checkpoints={"precision": "fp32"})
    events = []
    result = run_training(cfg, tmp_path / "run", emit=events.append)
    samples = [e for e in events if e["type"] == "sample"]
    assert [e["step"] for e in samples] == [0, 2, 4] and all(e["message"] == "sks a white square" for e in samples)
    bucket = cfg.data.buckets[0].model_copy(update={"frames": 9})

    def frames(path):
        return decode(path, bucket)

    base = generate(load_components(cfg.model), "sks a white square", seed=3, width=64, height=64, frames=9, steps=2,
                    out_dir=tmp_path / "ref", name="base", guidance=PLAIN_GUIDANCE)
    assert (frames(samples[0]["path"]) - frames(base.mp4_path)).abs().max() < 0.05
    final = generate(load_components(cfg.model), "sks a white square", lora_path=result.lora_path, seed=3, width=64,
                     height=64, frames=9, steps=2, out_dir=tmp_path / "ref", name="final", guidance=PLAIN_GUIDANCE)
    assert (frames(samples[-1]["path"]) - frames(final.mp4_path)).abs().max() < 0.05


@pytest.mark.slow
def test_a_nan_loss_stops_training_before_it_reaches_the_weights(tmp_path, monkeypatch):
    import trainer.train as train_module

    real_predict, calls = train_module.predict, []

    def predict_nan_on_the_fourth_step(model, inputs, kwargs):
        calls.append(1)
        out = real_predict(model, inputs, kwargs)
        return out * float("nan") if len(calls) == 4 else out

    monkeypatch.setattr(train_module, "predict", predict_nan_on_the_fourth_step)
    cfg = tiny_config(concept_dataset(tmp_path / "ds", n=3), steps=8, checkpoints={"every": 2})
    with pytest.raises(LoraportError, match="diverged at step 4.*lower learning rate") as err:
        run_training(cfg, tmp_path / "run")
    assert "Checkpoints up to step 3" in err.value.message
    kept = load_file(tmp_path / "run" / "checkpoints" / "step-000002" / "lora.safetensors")
    assert all(torch.isfinite(v).all() for v in kept.values())

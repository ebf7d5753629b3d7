"""The memory model: real LTX-2.3 dimensions on meta, per-phase peaks, and the fastest techniques that fit."""

import pytest

from tools.plan.memory import Techniques, choose, lora_params, model_dims, predict
from trainer.config import DEFAULT_TARGETS

TARGETS = tuple(DEFAULT_TARGETS)


def test_dimensions_come_from_the_real_config_on_meta():
    d = model_dims("ltx-2.3")
    assert d.total == pytest.approx(18.99e9, rel=0.005) and d.n_blocks == 48 and d.width == 4096
    assert d.block_linear / d.total > 0.97  # almost everything is a quantisable block Linear
    # rank 32 on attn1/attn2 q/k/v/out of 48 blocks: 48 x 8 Linears x 32 x (4096 + 4096)
    assert lora_params("ltx-2.3", 32, TARGETS, True) == 48 * 8 * 32 * 8192


def test_each_technique_lowers_the_phase_it_acts_on():
    def train(**kw):
        return predict("ltx-2.3", (768, 512, 49), 32, TARGETS, True, Techniques(**kw)).phases["train"]

    bf16, int8, nf4 = train(), train(quantize_base="int8"), train(quantize_base="nf4")
    w = [p.parts["transformer weights"] for p in (bf16, int8, nf4)]
    assert w[0] == pytest.approx(35.4, rel=0.03) and w[1] == pytest.approx(w[0] / 2, rel=0.05) and w[2] < w[1] * 0.6
    assert train(quantize_base="int8", offload="blocks").parts["transformer weights"] < 2.0
    assert train(optimizer="adamw8bit").parts["LoRA + grads + optimizer"] < bf16.parts["LoRA + grads + optimizer"]
    assert train(gradient_checkpointing=False).parts["activations"] > 5 * bf16.parts["activations"]
    vae = predict("ltx-2.3", (768, 512, 121), 32, TARGETS, True, Techniques(vae_tiling=True)).phases["vae"]
    assert vae.peak_gib < predict("ltx-2.3", (768, 512, 121), 32, TARGETS, True, Techniques()).phases["vae"].peak_gib


@pytest.mark.parametrize("vram,bucket", [(24, (768, 512, 121)), (16, (768, 512, 49)), (12, (512, 512, 49))])
def test_the_issue_goals_fit_with_rank_32(vram, bucket):
    m = choose("ltx-2.3", bucket, 32, TARGETS, True, vram)
    assert m.fits and m.peak_gib <= vram and all(p.peak_gib <= vram for p in m.phases.values())
    assert m.reasons[0].startswith("Predicted peak")


def test_a_big_gpu_gets_the_fastest_plain_set():
    m = choose("ltx-2.3", (768, 512, 49), 32, TARGETS, True, 141)
    assert m.settings["quantize_base"] == "none" and m.settings["offload"] == "none" and m.fits


def test_too_small_a_gpu_says_it_does_not_fit_and_names_a_bucket_that_would():
    m = choose("ltx-2.3", (768, 512, 121), 32, TARGETS, True, 6)
    assert not m.fits and m.smallest_fit is not None
    w, h, f = map(int, m.smallest_fit.split("x"))
    assert w * h * f < 768 * 512 * 121
    assert choose("ltx-2.3", (w, h, f), 32, TARGETS, True, 6).fits


def test_user_choices_are_kept():
    m = choose("ltx-2.3", (512, 512, 49), 32, TARGETS, True, 80, fixed={"quantize_base": "nf4"})
    assert m.settings["quantize_base"] == "nf4"


def test_offload_is_refused_when_host_ram_cannot_hold_the_blocks():
    m = choose("ltx-2.3", (512, 512, 49), 32, TARGETS, True, 12, ram_gib=16)
    assert m.settings["offload"] == "none" or not m.fits


def test_a_cluster_asks_for_the_memory_the_job_is_predicted_to_need(tmp_path):
    from tools.train.cluster import job_resources
    from trainer.jobs import JobRecord

    cfg = {"model": {"id": "ltx-2.3", "quantize_base": "nf4", "offload": "blocks"},
           "optim": {"optimizer": "adamw8bit"}, "data": {"dataset_dir": str(tmp_path)}}
    r = job_resources(JobRecord(job_id="j", kind="train", status="queued", run_dir=str(tmp_path), config=cfg))
    assert 3 < r.gpu_memory_gb < 12 and "predicted peak" in r.why

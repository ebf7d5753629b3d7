"""A tiny IC-LoRA (Face) run: validation samples rendered with the dataset's references, held-out first, each
shown beside its reference, named in the events and in report.json; the LoRA file carries the reference keys."""

import json

import pytest
from safetensors import safe_open

from tests.trainer.train_utils import concept_dataset, tiny_config
from trainer.train import run_training


@pytest.mark.slow  # a real (tiny) training with 4 in-context renders: ~25 s on a shared 2-core CPU
def test_ic_lora_validation_samples_use_the_datasets_references(tmp_path):
    ds = concept_dataset(tmp_path / "ds", n=5, ref=True)
    cfg = tiny_config(ds, steps=2, strategy={"name": "ic-lora"}, recipe="face",
                      data={"holdout_fraction": 0.25, "trigger_word": "zxface"},
                      validation={"every": 2, "prompts": ["the person waves", "the person speaks"], "seeds": [1],
                                  "width": 64, "height": 64, "frames": 9, "inference_steps": 2})
    events = []
    result = run_training(cfg, tmp_path / "run", emit=events.append)
    report = json.loads((tmp_path / "run" / "report.json").read_text())

    samples = [e for e in events if e["type"] == "sample"]
    assert len(samples) == 4  # two prompts at step 0 and at the end
    assert all(e["path"].endswith("-beside-ref.mp4") and "(reference: clip" in e["message"] for e in samples)

    recorded = report["samples"]
    assert [(r["step"], r["prompt"]) for r in recorded] == [(0, "zxface the person waves"),
                                                            (0, "zxface the person speaks"),
                                                            (2, "zxface the person waves"),
                                                            (2, "zxface the person speaks")]
    first = recorded[0]
    assert first["reference_split"] == "holdout"  # the pair the LoRA never trained on comes first
    assert recorded[1]["reference"] != first["reference"] and recorded[1]["reference_split"] == "train"
    for r in recorded:
        assert r["reference"].endswith("_ref.mp4") and r["beside_mp4"].endswith("-beside-ref.mp4")

    with safe_open(str(result.lora_path), framework="pt") as f:
        meta = f.metadata()
    assert meta["loraport.strategy"] == "ic-lora" and meta["reference_downscale_factor"] == "1"


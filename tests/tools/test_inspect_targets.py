"""Inspect per target: LTX-2, 2.3 and 2.5 LoRAs judged against LTX-2.5 (and back) with their evidence."""

import json

import pytest
import torch
from safetensors.torch import save_file

from cli.main import main
from tests.tools.lora_factory import (loraport_metadata, ltx2_metadata, ltx2_modules, make_lora, make_ltx2_lora,
                                      make_ltx23_lora)
from tools.inspect import inspect_lora


def test_ltx23_lora_on_ltx25_is_test_first_with_the_plan_and_key_evidence(tmp_path):
    path = make_ltx23_lora(tmp_path / "mychar.safetensors", rank=2, n_blocks=2,
                           metadata=loraport_metadata("ltx-2.3"))
    r = inspect_lora(path, target="ltx-2.5", header_only=True)
    assert r.base_model.family == "ltx-2.3" and r.verdict.target == "ltx-2.5"
    assert r.verdict.status == "test-first" and "Gemma 4" in r.verdict.reason
    assert any("to_gate_logits" in e for e in r.verdict.evidence)
    assert any("no video feed-forward bias delta" in e for e in r.verdict.evidence)
    assert any("--model ltx-2.5 --as-is" in step and "mychar.safetensors" in step for step in r.verdict.test_plan)
    assert "test it first" in r.summary().lower() or "Test it first" in r.summary()
    assert inspect_lora(path, target="ltx-2.3", header_only=True).verdict.status == "native"


def test_ic_lora_from_23_must_be_retrained_for_25(tmp_path):
    md = {**loraport_metadata("ltx-2.3"), "reference_downscale_factor": "1"}
    r = inspect_lora(make_ltx23_lora(tmp_path / "ic.safetensors", rank=2, n_blocks=2, metadata=md),
                     target="ltx-2.5", header_only=True)
    assert r.verdict.status == "loads-but-invalid" and "IC-LoRA" in r.verdict.reason
    assert "retrain" in r.verdict.action.lower() and r.verdict.test_plan == []
    assert any("reference_downscale_factor" in e for e in r.verdict.evidence)


def test_video_ff_bias_delta_cannot_carry_over_to_25(tmp_path):
    path = make_ltx23_lora(tmp_path / "ff.safetensors", rank=2, n_blocks=1, metadata=loraport_metadata("ltx-2.3"))
    from safetensors.torch import load_file

    tensors = load_file(path) | {"diffusion_model.transformer_blocks.0.ff.net.2.diff_b": torch.ones(4096)}
    save_file(tensors, path, metadata=loraport_metadata("ltx-2.3"))
    r = inspect_lora(path, target="ltx-2.5", header_only=True)
    assert r.verdict.status == "loads-but-invalid"
    assert any("bias delta (diff_b)" in e for e in r.verdict.evidence)


def test_ltx2_lora_on_ltx25_is_retrain_and_25_lora_is_native_there(tmp_path):
    old = make_ltx2_lora(tmp_path / "old.safetensors", rank=2, n_blocks=2, metadata=ltx2_metadata())
    assert inspect_lora(old, target="ltx-2.5", header_only=True).verdict.status == "loads-but-invalid"
    new = make_lora(tmp_path / "new.safetensors", ltx2_modules(n_blocks=2, gate=True), rank=2,
                    metadata=loraport_metadata("ltx-2.5"))
    r = inspect_lora(new, target="ltx-2.5", header_only=True)
    assert (r.base_model.family, r.base_model.version) == ("ltx-2.5", "2.5") and r.verdict.status == "native"
    back = inspect_lora(new, target="ltx-2.3", header_only=True)
    assert back.verdict.status == "loads-but-invalid" and "Gemma 3" in back.verdict.reason


def test_gate_logits_alone_say_23_or_25_and_a_file_name_settles_it(tmp_path):
    r = inspect_lora(make_ltx23_lora(tmp_path / "anon.safetensors", rank=2, n_blocks=2), header_only=True)
    assert r.base_model.family == "ltx-2.3" and any("2.5" in e for e in r.base_model.evidence)
    named = inspect_lora(make_ltx23_lora(tmp_path / "ltx-2.5-22b-mine.safetensors", rank=2, n_blocks=2),
                         header_only=True)
    assert named.base_model.family == "ltx-2.5"


def test_cli_inspect_target_ltx25_gives_the_verdict_with_evidence(tmp_path, capsys):
    path = make_ltx23_lora(tmp_path / "c.safetensors", rank=2, n_blocks=2, metadata=loraport_metadata("ltx-2.3"))
    with pytest.raises(SystemExit) as done:
        main(["inspect", str(path), "--target", "ltx-2.5", "--header-only", "--json"])
    verdict = json.loads(capsys.readouterr().out)["verdict"]
    assert done.value.code == 0 and verdict["status"] == "test-first" and verdict["evidence"]
    assert verdict["target"] == "ltx-2.5" and len(verdict["test_plan"]) == 3

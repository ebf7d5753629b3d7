"""`loraport plan --vram-gb N`: honest memory figures for a real model on another machine's GPU, no weights."""

import json

import pytest
from typer.testing import CliRunner

from cli.main import build_app
from tests.trainer.clips import make_clip


@pytest.mark.parametrize("vram,fits", [(24, True), (6, False)])
def test_plan_for_another_gpu_shows_memory_per_phase_without_weights(tmp_path, monkeypatch, vram, fits):
    monkeypatch.delenv("LORAPORT_MODEL_PATH", raising=False)
    for i in range(2):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", frames=17, size=(96, 64), color=(60 * i, 120, 30))
    args = ["plan", "--recipe", "style", "--dataset", str(tmp_path / "clips"), "--model", "ltx-2.3",
            "--vram-gb", str(vram), "--set", "resolution=768x512", "--set", "frames=121", "--json"]
    result = CliRunner().invoke(build_app(), args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    m = doc["memory"]
    assert doc["model_id"] == "ltx-2.3" and m["vram_gib"] == vram and m["fits"] is fits
    assert set(m["phases"]) == {"text", "vae", "train"} and m["techniques"] and m["reasons"]
    assert m["peak_gib"] == max(p["peak_gib"] for p in m["phases"].values())
    assert (m["peak_gib"] <= vram) is fits
    if not fits:
        assert m["smallest_fit"] and any("does not fit" in w for w in doc["warnings"])
    assert doc["config"]["model"]["quantize_base"] == m["settings"]["quantize_base"]

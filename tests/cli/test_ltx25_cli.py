"""The LTX-2.5 checks as a user runs them: train on tiny-ltx-2.5, inspect names ltx-2.5, plan says what differs."""

import json
from pathlib import Path

import pytest

from cli.main import main
from tests.trainer.clips import make_clip


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code or 0, out, err


@pytest.mark.slow  # a 3-step tiny training through the CLI (~15 s on one core)
def test_train_on_tiny_ltx25_exports_a_lora_inspect_names_ltx25(capsys, workspace_home, tmp_path):
    for i, color in enumerate([(200, 40, 40), (40, 200, 40), (40, 40, 200)]):
        make_clip(tmp_path / "clips" / f"clip{i}.mp4", color=color, pattern="moving")
    code, out, err = _cli(capsys, "train", "--recipe", "none", "--dataset", str(tmp_path / "clips"), "--steps", "3",
                          "--rank", "4", "--model", "tiny-ltx-2.5", "--trigger", "zxq", "--json")
    assert code == 0, err
    lora = json.loads(out)["lora_path"]
    code, out, _ = _cli(capsys, "inspect", lora, "--json")
    report = json.loads(out)
    assert (report["base_model"]["family"], report["base_model"]["version"]) == ("ltx-2.5", "2.5")
    assert report["base_model"]["variant"] == "tiny" and report["metadata"]["loraport.base_model"] == "tiny-ltx-2.5"
    assert report["verdict"]["target"] == "ltx-2.3" and report["verdict"]["status"] == "loads-but-invalid"
    code, out, _ = _cli(capsys, "inspect", lora, "--target", "ltx-2.5", "--json")
    assert json.loads(out)["verdict"]["status"] == "native"


@pytest.mark.slow  # the tiny model's plan measures a few real steps for its estimate (~20 s)
def test_plan_for_tiny_ltx25_says_what_differs(capsys, workspace_home, tmp_path):
    for i in range(3):
        make_clip(tmp_path / "clips" / f"clip{i}.mp4", color=(200, 40 * i, 40))
    code, out, err = _cli(capsys, "plan", "--recipe", "style", "--dataset", str(tmp_path / "clips"), "--model",
                          "tiny-ltx-2.5", "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["model_id"] == plan["config"]["model"]["id"] == "tiny-ltx-2.5"
    assert any("Gemma 4" in n for n in plan["model_notes"])
    code, out, _ = _cli(capsys, "plan", "--recipe", "style", "--dataset", str(tmp_path / "clips"), "--model",
                        "tiny-ltx-2.5")
    assert "What differs for this model" in out and Path(tmp_path / "clips").is_dir()


def test_evaluate_picks_the_old_loras_own_model_for_the_old_on_old_renders(tmp_path):
    from tools.evaluate.compare import old_model_for as _old_model
    from tests.tools.lora_factory import loraport_metadata, make_ltx2_lora, make_ltx23_lora, ltx2_metadata

    old23 = make_ltx23_lora(tmp_path / "a.safetensors", rank=2, n_blocks=2, metadata=loraport_metadata("ltx-2.3"))
    assert _old_model(old23, "ltx-2.5") == "ltx-2.3"
    assert _old_model(old23, "tiny-ltx-2.5") == "tiny-ltx-2.3"  # next to a tiny model: its tiny twin
    old2 = make_ltx2_lora(tmp_path / "b.safetensors", rank=2, n_blocks=2, metadata=ltx2_metadata())
    assert _old_model(old2, "ltx-2.3") == "ltx-2" and _old_model(None, "ltx-2.5") == "ltx-2"

"""`loraport plan`: every value with its source and reason, an estimate, and carry-over from an old LoRA."""

import json

import pytest
from typer.testing import CliRunner

from cli.main import build_app
from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora
from tests.trainer.clips import make_clip


@pytest.mark.slow
def test_plan_json_from_an_ltx2_lora_has_every_value_sourced_and_an_estimate(tmp_path):
    for i in range(4):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", frames=17, size=(96, 64), color=(60 * i, 120, 30))
    old = make_ltx2_lora(tmp_path / "old.safetensors", rank=1, audio=False, metadata=ltx2_metadata())
    result = CliRunner().invoke(build_app(), ["plan", "--recipe", "character", "--dataset", str(tmp_path / "clips"),
                                              "--from-lora", str(old), "--set", "steps=30", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["settings"] and all({"value", "source", "explanation"} <= set(s) for s in doc["settings"].values())
    assert all(s["explanation"] for s in doc["settings"].values())
    assert doc["settings"]["trigger"] == {**doc["settings"]["trigger"], "value": "ohwx", "source": "old_lora"}
    assert doc["settings"]["rank"]["source"] == "old_lora" and doc["config"]["lora"]["rank"] == 4
    assert doc["settings"]["steps"] == {**doc["settings"]["steps"], "value": 30, "source": "user"}
    est = doc["estimate"]
    assert est["basis"] == "measured" and est["seconds_high"] >= est["seconds_low"] > 0 and est["disk_mb"]["lora"] > 0
    assert doc["recommendations"] and doc["ready"] is False  # 4 clips < the character recipe's minimum


@pytest.mark.slow
def test_plan_summary_and_a_bad_override_is_one_clear_line(tmp_path, capsys):
    import pytest

    from cli.main import main

    make_clip(tmp_path / "clips" / "a.mp4", frames=9, size=(64, 64))
    args = ["plan", "--recipe", "motion", "--dataset", str(tmp_path / "clips")]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--set", "rank=9999"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.startswith("error: rank=9999 is out of range") and "Traceback" not in err
    ok = CliRunner().invoke(build_app(), [*args, "--set", "steps=20"])
    assert ok.exit_code == 0, ok.output
    assert "rank" in ok.stdout and "[recipe]" in ok.stdout and "Estimate (" in ok.stdout


def test_recipes_command_lists_and_shows():
    runner = CliRunner()
    listed = runner.invoke(build_app(), ["recipes", "--json"])
    assert {"character", "style", "motion", "face", "object"} <= {r["name"] for r in json.loads(listed.stdout)}
    shown = runner.invoke(build_app(), ["recipes", "face"])
    assert shown.exit_code == 0 and "learning_rate = 0.0002" in shown.stdout


def _zorbly_lora(tmp_path):
    for i in range(4):
        make_clip(tmp_path / "clips" / f"c{i}.mp4", frames=17, size=(96, 64), color=(60 * i, 120, 30))
    metadata = {**ltx2_metadata(), "modelspec.trigger_phrase": "zorbly style"}
    return make_ltx2_lora(tmp_path / "old.safetensors", rank=1, audio=False, metadata=metadata)


@pytest.mark.slow
def test_plan_from_lora_keeps_a_multi_word_trigger_verbatim_and_says_where_it_came_from(tmp_path):
    old = _zorbly_lora(tmp_path)
    result = CliRunner().invoke(build_app(), ["plan", "--recipe", "style", "--dataset", str(tmp_path / "clips"),
                                              "--from-lora", str(old), "--set", "steps=30", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    trigger = doc["settings"]["trigger"]
    assert (trigger["value"], trigger["source"]) == ("zorbly style", "old_lora")
    assert "old.safetensors" in trigger["explanation"]
    assert doc["config"]["data"]["trigger_word"] == "zorbly style"
    assert all("zorbly style" in p for p in doc["config"]["validation"]["prompts"])


@pytest.mark.slow
def test_cli_sets_a_multi_word_trigger_by_flag_or_by_set(tmp_path):
    old = _zorbly_lora(tmp_path)
    base = ["plan", "--recipe", "style", "--dataset", str(tmp_path / "clips"), "--from-lora", str(old), "--json"]
    for extra in (["--trigger", "ohwx man"], ["--set", 'trigger="ohwx man"'], ["--set", "trigger=ohwx man"]):
        result = CliRunner().invoke(build_app(), [*base, *extra])
        assert result.exit_code == 0, result.output
        doc = json.loads(result.stdout)
        assert doc["config"]["data"]["trigger_word"] == "ohwx man", extra
        assert doc["settings"]["trigger"]["source"] == "user"

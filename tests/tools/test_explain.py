"""Every resolved setting gets one or two plain sentences; single settings answer "what does X do?"."""

import pytest

from core.errors import LoraportError
from tools.plan.explain import explain, explain_setting, explain_settings
from tools.plan.glossary import SETTINGS
from tools.plan.hardware import Hardware
from tools.plan.service import plan
from tools.plan.inputs import DatasetFacts, MediaFacts

H100 = Hardware(device="cuda", name="NVIDIA H100 80GB HBM3", vram_gb=79.2)


def _plan(**kw):
    files = [MediaFacts(name=f"c{i}.mp4", kind="video", width=960, height=544, frames=97) for i in range(20)]
    return plan("character", DatasetFacts(path="/d", n_videos=20, files=files), hardware=H100, model_id="ltx-2.3",
                calibrate=False, **kw)


@pytest.mark.slow
def test_explain_settings_covers_every_setting_with_what_and_why():
    p = _plan(overrides={"rank": "64"})
    rows = {r.name: r for r in explain_settings(p)}
    assert set(rows) == set(p.settings)
    for name, row in rows.items():
        assert SETTINGS[name].what in row.text and p.settings[name].explanation in row.text
    assert rows["rank"].source == "user" and rows["rank"].value == 64


def test_explain_plan_text_says_where_each_value_came_from():
    text = explain(_plan(overrides={"steps": "+10%"}))
    assert "steps = " in text and "(set by you)" in text and "(from the recipe)" in text


@pytest.mark.parametrize("question,setting", [
    ("what does rank do?", "rank"), ("lr", "learning_rate"), ("what is the learning rate", "learning_rate"),
    ("why gradient checkpointing?", "gradient_checkpointing"), ("trigger word", "trigger"),
    ("first frame", "first_frame_p"),
])
def test_explain_setting_finds_the_setting(question, setting):
    assert explain_setting(question).startswith(f"{setting}:")


def test_explain_setting_with_a_recipe_gives_its_value_and_reason():
    text = explain_setting("what does rank do?", recipe="motion")
    assert "capacity" in text and "uses 16" in text and "Lightricks" in text
    assert "steps for 20 items" in explain_setting("steps", recipe="character")


def test_unknown_setting_is_a_clear_error():
    with pytest.raises(LoraportError, match="Settings I can explain"):
        explain_setting("flux capacitor")

"""Recipes load, validate with errors that name the file and field, and match plain descriptions."""

import shutil

import pytest

from core.errors import LoraportError, NotFoundError
from tools.recipes import RECIPES_DIR, StepsRule, list_recipes, load_recipe, load_recipe_file, match_recipe

REQUIRED = {"character", "style", "motion", "face", "object"}


def test_every_recipe_file_validates_with_reasons_and_sources():
    names = {r.name for r in list_recipes()}
    assert REQUIRED <= names
    for name in names:
        r = load_recipe(name)
        for key, choice in r.settings.items().items():
            assert choice.why and choice.change and choice.source, f"{name}.{key} lacks a reason"
        assert all("{trigger}" in p for p in r.validation.prompts)
        assert r.steps.min <= r.steps.base <= r.steps.max
        assert r.tiers.low_vram.parsed() and r.tiers.standard.parsed()
        assert r.advice.weak and r.advice.overfit and r.caption.guidance


def test_recipe_values_follow_lightricks_rank_table():
    assert load_recipe("motion").settings.rank.value <= 16  # camera / motion 8-16
    assert 16 <= load_recipe("face").settings.rank.value <= 32  # IC-LoRA 16-32
    for name in ("character", "style", "object"):
        assert 32 <= load_recipe(name).settings.rank.value <= 64
    face = load_recipe("face")
    assert face.settings.strategy.value == "ic-lora" and face.ic is not None
    assert face.settings.learning_rate.value == pytest.approx(2e-4)


@pytest.fixture
def recipes_copy(tmp_path):
    d = tmp_path / "recipes"
    shutil.copytree(RECIPES_DIR, d)
    return d


def test_broken_toml_error_names_the_file(recipes_copy):
    bad = recipes_copy / "broken.toml"
    bad.write_text("title = 'x\n[settings\n")
    with pytest.raises(LoraportError, match="broken.toml.*not valid TOML"):
        load_recipe("broken", recipes_dir=recipes_copy)


def test_unknown_field_error_names_file_and_field(recipes_copy):
    text = (recipes_copy / "character.toml").read_text().replace("[settings.rank]", "[settings.rnak]")
    (recipes_copy / "typo.toml").write_text(text)
    with pytest.raises(LoraportError) as err:
        load_recipe_file(recipes_copy / "typo.toml")
    assert "typo.toml" in str(err.value) and "settings.rnak" in str(err.value) and "not a known field" in str(err.value)


def test_bucket_breaking_the_frame_rule_is_refused(recipes_copy):
    text = (recipes_copy / "style.toml").read_text().replace('"960x544x49"', '"960x544x48"')
    (recipes_copy / "badframes.toml").write_text(text)
    with pytest.raises(LoraportError, match=r"badframes.toml.*tiers.standard.buckets.*8k\+1"):
        load_recipe_file(recipes_copy / "badframes.toml")


def test_validation_prompt_without_trigger_is_refused(recipes_copy):
    text = (recipes_copy / "object.toml").read_text().replace("{trigger} on a wooden", "on a wooden")
    (recipes_copy / "notrigger.toml").write_text(text)
    with pytest.raises(LoraportError, match="notrigger.toml.*validation.prompts"):
        load_recipe_file(recipes_copy / "notrigger.toml")


def test_unknown_recipe_lists_the_choices():
    with pytest.raises(NotFoundError, match="character"):
        load_recipe("portrait-of-a-dog")


@pytest.mark.parametrize("text,expected", [
    ("it's a person", "character"), ("my girlfriend", "character"), ("a watercolor look", "style"),
    ("a camera orbit move", "motion"), ("our sneaker product", "object"),
    ("keep a face from a reference clip", "face"), ("zzz", None),
])
def test_match_recipe_maps_plain_descriptions(text, expected):
    found = match_recipe(text)
    assert (found.name if found else None) == expected


def test_steps_rule_scales_with_items_and_stays_in_bounds():
    rule = load_recipe("character").steps
    sizes = [0, 5, 20, 40, 80, 1000]
    steps = [rule.steps_for(n, 0) for n in sizes]
    assert steps == sorted(steps) and all(rule.min <= n <= rule.max for n in steps) and steps[-1] == rule.max
    assert rule.steps_for(20, 0) == rule.base
    assert rule.steps_for(20, 20) > rule.steps_for(20, 0)  # images count, at their weight
    tight = rule.model_copy(update={"min": 1800})
    assert tight.steps_for(1, 0) == 1800


def test_steps_rule_refuses_base_outside_bounds():
    with pytest.raises(ValueError, match="min <= base <= max"):
        StepsRule(base=5000, reference_items=10, per_item=1, min=100, max=4000, why="x" * 10, change="y" * 10,
                  source="z" * 5)

"""Parsed recipes are kept between calls, yet an edited recipe or defaults file is read again at once, and a
caller that changes the recipe it got changes nobody else's."""

import os
import shutil

import pytest

from core.errors import LoraportError
from tools.recipes import RECIPES_DIR, list_recipes, load_recipe


@pytest.fixture
def recipes_copy(tmp_path):
    d = tmp_path / "recipes"
    shutil.copytree(RECIPES_DIR, d)
    return d


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))  # a coarse clock still moves


def test_an_edited_recipe_file_is_read_again(recipes_copy):
    before = {r.name: r.title for r in list_recipes(recipes_copy)}
    _edit(recipes_copy / "style.toml", before["style"], "Edited style title")
    assert {r.name: r.title for r in list_recipes(recipes_copy)}["style"] == "Edited style title"
    assert load_recipe("style", recipes_copy).title == "Edited style title"


def test_a_recipe_broken_after_loading_is_reported_not_served_from_memory(recipes_copy):
    load_recipe("style", recipes_copy)
    _edit(recipes_copy / "style.toml", "[", "[[[")
    with pytest.raises(LoraportError, match="style.toml"):
        load_recipe("style", recipes_copy)


def test_changing_a_loaded_recipe_does_not_change_the_next_load(recipes_copy):
    first = load_recipe("style", recipes_copy)
    rank = first.settings.rank.value
    first.settings.rank.value = rank + 1
    assert load_recipe("style", recipes_copy).settings.rank.value == rank

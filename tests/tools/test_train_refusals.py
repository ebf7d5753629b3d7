"""`loraport train` never swaps the model asked for: an unknown id or a real model that cannot run here is an
error that says why and names the tiny model to try instead."""

import pytest

from core.errors import LoraportError
from tests.trainer.train_utils import concept_dataset
from tools.train.config import build_config


@pytest.mark.parametrize("recipe", ["style", "none"])
def test_unknown_model_is_an_error_listing_the_known_ids(tmp_path, recipe):
    with pytest.raises(LoraportError, match="Unknown model 'no-such-model'.*tiny-ltx-2.3.*ltx-2.3"):
        build_config(recipe, concept_dataset(tmp_path / "ds", n=2), model="no-such-model")


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["style", "none"])
def test_real_model_without_a_gpu_is_refused_with_the_tiny_model_offered(tmp_path, monkeypatch, recipe):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(LoraportError, match="ltx-2.3 cannot train here.*no GPU.*--model tiny-ltx-2.3"):
        build_config(recipe, concept_dataset(tmp_path / "ds", n=2), model="ltx-2.3")


def test_the_tiny_model_still_trains_when_asked_for(tmp_path):
    cfg = build_config("none", concept_dataset(tmp_path / "ds", n=2), model="tiny-ltx-2.3")
    assert cfg.model.id == "tiny-ltx-2.3"

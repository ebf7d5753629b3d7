"""``--model`` takes an id: a path, a near miss or a file name given instead gets an error that says what to write,
and never picks a model for the user."""

import pytest

from core.errors import LoraportError
from core.settings import Settings
from tools.plan.versions import weights_for
from trainer.models import get_model_spec


@pytest.mark.parametrize("given, hint", [
    ("LTX-2.3", "Did you mean ltx-2.3\\?"),
    ("ltx 2.3", "Did you mean ltx-2.3\\?"),
    ("ltx_2.5", "Did you mean ltx-2.5\\?"),
    ("LTX2", "Did you mean ltx-2\\?"),
    ("Tiny-LTX-2.3", "Did you mean tiny-ltx-2.3\\?"),
    ("ltx-2.3-22b-dev", "Did you mean ltx-2.3\\?"),  # Lightricks' file name without the extension
    ("ltx-2-19b-distilled", "Did you mean ltx-2\\?"),
])
def test_a_near_miss_names_the_id_it_resembles_but_is_still_refused(given, hint):
    with pytest.raises(LoraportError, match=f"Unknown model {given!r}.*{hint}"):
        get_model_spec(given)


@pytest.mark.parametrize("given", ["ltx-3", "wan2.1", "flux-dev", "no-such-model", "tiny"])
def test_an_id_of_no_model_lists_the_ids_and_suggests_nothing_wrong(given):
    with pytest.raises(LoraportError) as err:
        get_model_spec(given)
    assert "ltx-2.3" in str(err.value) and "Did you mean" not in str(err.value)


@pytest.mark.parametrize("given", ["/models/ltx-2.3-22b-dev.safetensors", "~/weights/LTX-2.3",
                                   "ltx-2.3-22b-dev-fp8.safetensors", "C:\\models\\ltx.safetensors"])
def test_a_path_given_as_the_model_says_where_paths_go(given):
    with pytest.raises(LoraportError, match="not a path.*LORAPORT_MODEL_PATH=.*--model ltx-2.3"):
        get_model_spec(given)


def test_ltx2_reads_the_shared_gemma_setting(tmp_path):
    st = Settings(ltx2_model_path=tmp_path / "ltx2", text_encoder_path=tmp_path / "gemma",
                  model_path=tmp_path / "ltx23")
    assert weights_for("ltx-2", st) == (tmp_path / "ltx2", tmp_path / "gemma")
    assert weights_for("ltx-2.3", st) == (tmp_path / "ltx23", tmp_path / "gemma")
    assert weights_for("tiny-ltx-2.3", st) == (None, None)


def test_each_version_names_its_own_weights_setting_when_weights_are_missing():
    from tools.train.config import _no_weights

    assert "LORAPORT_LTX25_MODEL_PATH" in str(_no_weights("ltx-2.5"))
    assert "LORAPORT_LTX2_MODEL_PATH" in str(_no_weights("ltx-2"))
    assert "LORAPORT_MODEL_PATH" in str(_no_weights("ltx-2.3"))
    assert get_model_spec("ltx-2.5").weights_setting(text=True) == "LORAPORT_LTX25_TEXT_ENCODER_PATH"
    assert get_model_spec("ltx-2").weights_setting(text=True) == "LORAPORT_TEXT_ENCODER_PATH"  # Gemma 3, shared


def test_the_old_on_old_render_reads_ltx2s_text_encoder_from_the_shared_setting(tmp_path, monkeypatch):
    from tools.evaluate.compare import old_model_config

    (tmp_path / "ltx-2-19b-dev.safetensors").write_bytes(b"x")
    monkeypatch.setenv("LORAPORT_LTX2_MODEL_PATH", str(tmp_path / "ltx-2-19b-dev.safetensors"))
    monkeypatch.setenv("LORAPORT_TEXT_ENCODER_PATH", str(tmp_path / "gemma"))
    monkeypatch.setenv("LORAPORT_MODEL_PATH", str(tmp_path / "ltx-2.3"))
    cfg = old_model_config("ltx-2")
    assert cfg.path == tmp_path / "ltx-2-19b-dev.safetensors" and cfg.text_encoder_path == tmp_path / "gemma"

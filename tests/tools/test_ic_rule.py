"""One IC-LoRA rule: whatever makes inspect call a file an IC-LoRA makes Studio ask for a reference, with the
same downscale factor, and a plain LoRA is plain for both."""

import pytest

from core.errors import LoraportError
from tests.tools.lora_layouts import ltx_trainer_lora, musubi_metadata, musubi_training_lora
from tools.inspect import inspect_lora
from tools.references import pick_reference, reference_info


def _files(tmp_path):
    """(file, is IC-LoRA, downscale factor) as trainers write them."""
    d = tmp_path
    return [
        (ltx_trainer_lora(d / "lora_weights_step_02000.safetensors"), False, 1),
        (ltx_trainer_lora(d / "plain_ref_factor_2.safetensors", ic_factor=2), True, 2),
        # ltx-trainer writes no factor at 1: only Lightricks' naming says IC-LoRA
        (ltx_trainer_lora(d / "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors", ic_factor=1), True, 1),
        (ltx_trainer_lora(d / "LTX-2.3-22b-IC-LoRA-Detailer.safetensors"), True, 1),
        (ltx_trainer_lora(d / "my_comic-lora.safetensors"), False, 1),
        (musubi_training_lora(d / "musubi_v2v.safetensors",
                              metadata=musubi_metadata(ss_v2v_training="True")), True, 1),
        (musubi_training_lora(d / "musubi_flag_off.safetensors",
                              metadata=musubi_metadata(ss_v2v_training="False")), False, 1),
        (musubi_training_lora(d / "musubi_ss_factor.safetensors",
                              metadata=musubi_metadata(ss_reference_downscale_factor="2")), True, 2),
        (musubi_training_lora(d / "renamed.safetensors",
                              metadata=musubi_metadata(output_name="depth_ic_lora")), True, 1),
    ]


def test_inspect_and_studio_agree_on_what_is_an_ic_lora(tmp_path):
    for path, ic, factor in _files(tmp_path):
        report = inspect_lora(path, header_only=True)
        studio = reference_info(path)
        assert bool(report.ic_lora) is ic, path.name
        assert studio.ic_lora is ic, path.name
        if ic:
            assert studio.downscale_factor == factor == int(report.ic_lora["reference_downscale_factor"]), path.name


def test_studio_asks_an_ic_lora_marked_only_by_its_name_for_a_reference(tmp_path):
    path = ltx_trainer_lora(tmp_path / "ltx-2-19b-ic-lora-canny-control.safetensors")
    with pytest.raises(LoraportError, match="reference"):
        pick_reference(path)
    plain = ltx_trainer_lora(tmp_path / "style.safetensors")
    assert pick_reference(plain) is None

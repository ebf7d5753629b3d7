"""The header-only fast paths (entry check, role split, block split) give exactly what the full checks give."""

import json
import re
import struct

import pytest

from core.errors import LoraportError
from tools.inspect import inspect_lora
from tools.inspect.keys import _ROLES, _STACK, _split_role, _stack_of
from tools.inspect.safetensors_header import _entry, _entry_fast


@pytest.mark.parametrize("path", [
    "transformer_blocks.3.attn1.to_q", "blocks.01.ffn.0", "single_blocks.\u0663.x", "mid_block.0.attentions.0",
    "blocks.x.y", "blocks.3.", "blocks.3", "blocks..a", "xblocks.1.a", "proj_out", "transformer_blocks.3.a\n",
    "transformer_blocks.3.a\nb",
])
def test_block_split_matches_the_block_pattern(path):
    m = _STACK.match(path)
    assert _stack_of(path) == ((m.group(1), int(m.group(2)), m.group(3)) if m else None)


def _split_by_patterns(key: str):
    """The suffix list and patterns the role split had before its fast path, as the reference."""
    for suffix, role in ((".lora_A.weight", "A"), (".lora_B.weight", "B"), (".lora_down.weight", "A"),
                         (".lora_up.weight", "B"), (".alpha", "alpha")):
        if key.endswith(suffix):
            return key[: -len(suffix)], role
    for pattern, role in _ROLES:
        m = pattern.search(key)
        if m:
            return key[: m.start()], m.group(1) if role in ("lokr", "loha") else role
    return None


@pytest.mark.parametrize("key", [
    "diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight", "lora_unet_blocks_0_ffn_0.lora_up.weight",
    "lora_unet_blocks_0_ffn_0.alpha", "x.lora_A.default.weight", "lora_A.weight", "alpha", ".alpha", "a.weight",
    "a.lora_down.weight.extra", "a.lokr_w1", "a.hada_w2_b", "a.dora_scale", "a.lora_magnitude_vector", "a.diff_b",
    "lora_B.lora_B.weight", "a..lora_B.weight",
])
def test_role_split_matches_the_suffix_and_pattern_rules(key):
    assert _split_role(key) == _split_by_patterns(key)


@pytest.mark.parametrize("info", [
    {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 12]},
    {"dtype": "BF16", "shape": [], "data_offsets": [4, 6]},
    {"dtype": "BF16", "shape": [0, 3], "data_offsets": [6, 6]},
    {"dtype": "BF16", "shape": [2, 3], "data_offsets": [0, 10]},  # wrong span
    {"dtype": "BF16", "shape": [True, 3], "data_offsets": [0, 6]},  # bool is no size
    {"dtype": "BF16", "shape": [2.0, 3], "data_offsets": [0, 12]},
    {"dtype": "BF16", "shape": [2, 3], "data_offsets": "ab"},
    {"dtype": "BF16", "shape": [2, 3], "data_offsets": {"a": 0, "b": 12}},
    {"dtype": ["BF16"], "shape": [1], "data_offsets": [0, 2]},  # unhashable dtype
    {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2, 4]},
    {"dtype": "BF16", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 2]},  # a claim, never allocated
    {"dtype": "F32", "shape": [4], "data_offsets": [16, 32]},  # past the 24-byte data area
    {"shape": [1], "data_offsets": [0, 2]},
    ["BF16", [1], [0, 2]],
])
def test_fast_entry_check_accepts_exactly_what_the_full_check_accepts(info):
    fast = _entry_fast("t", info, 8, 24)
    try:
        full = _entry("f.safetensors", "t", info, 8, 24)
    except LoraportError:
        assert fast is None
    else:
        assert fast == full


def test_unhashable_dtype_is_a_clean_error_not_a_crash(tmp_path):
    header = json.dumps({"t": {"dtype": ["BF16"], "shape": [1], "data_offsets": [0, 2]}}).encode()
    path = tmp_path / "odd.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    with pytest.raises(LoraportError, match=re.escape("unknown dtype")):
        inspect_lora(path, header_only=True)


def test_header_parsing_leaves_the_garbage_collector_as_it_found_it(tmp_path):
    import gc

    from tests.tools.lora_factory import ltx2_modules, make_lora

    good = make_lora(tmp_path / "ok.safetensors", ltx2_modules(n_blocks=1), rank=2)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(struct.pack("<Q", 4) + b"{[}]")
    assert gc.isenabled()
    inspect_lora(good, header_only=True)
    with pytest.raises(LoraportError):
        inspect_lora(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        inspect_lora(good, header_only=True)
        assert not gc.isenabled()  # a caller that turned it off keeps it off
    finally:
        gc.enable()

"""Damaged and hostile LoRA files: each is refused with one clear LoraportError, or reported with the finding that
says what is wrong; a report is always valid JSON (no NaN), nothing crashes, nothing is unpickled."""

import json
import struct

import pytest
import torch
from safetensors.torch import save_file

from core.errors import LoraportError
from tests.tools.lora_factory import ltx2_modules, make_lora
from tests.tools.lora_layouts import kohya_keys
from tools.inspect import inspect_lora

pytestmark = pytest.mark.timeout(60)
BASE = "diffusion_model.transformer_blocks.0.attn1.to_q"


def _report(path, **kw):
    r = inspect_lora(path, **kw)
    json.dumps(r.model_dump(mode="json"), allow_nan=False)  # what `inspect --json` and the API send
    return r


def _raw(path, header: dict, data: bytes):
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)
    return path


@pytest.mark.parametrize("alpha,status,words", [
    (0.0, "broken", "are 0"), (float("nan"), "broken", "NaN or Inf"), (float("inf"), "broken", "NaN or Inf"),
    (-4.0, "suspect", "negative"),
])
def test_bad_alpha_values_are_findings_and_the_report_stays_valid_json(tmp_path, alpha, status, words):
    save_file(kohya_keys(ltx2_modules(n_blocks=1), alpha=alpha, dtype=torch.float32), str(tmp_path / "a.safetensors"))
    r = _report(tmp_path / "a.safetensors")
    assert r.health.status == status and any(words in f for f in r.health.findings)
    assert r.scale is None or r.scale == alpha / 4
    assert alpha != 0 or "alpha 0 (scale 0.00)" in r.summary()
    assert any(words in f for f in _report(tmp_path / "a.safetensors", header_only=True).health.findings)


def test_one_zero_alpha_among_many_is_suspect_not_broken(tmp_path):
    tensors = kohya_keys(ltx2_modules(n_blocks=2), dtype=torch.float32)
    tensors["lora_unet_transformer_blocks_1_attn2_to_v.alpha"] = torch.tensor(0.0)
    save_file(tensors, str(tmp_path / "a.safetensors"))
    r = _report(tmp_path / "a.safetensors")
    assert r.health.status == "suspect" and r.alpha == 4.0
    assert any("1 of 48 alpha" in f for f in r.health.findings)


def test_rank_mismatch_between_a_and_b_is_broken(tmp_path):
    save_file({f"{BASE}.lora_A.weight": torch.randn(4, 4096), f"{BASE}.lora_B.weight": torch.randn(4096, 8)},
              str(tmp_path / "m.safetensors"))
    r = _report(tmp_path / "m.safetensors")
    assert r.health.status == "broken" and any("ranks do not match" in f for f in r.health.findings)
    assert "broken" in r.verdict.action


def test_a_without_b_is_broken_even_in_a_header_only_summary(tmp_path):
    save_file({f"{BASE}.lora_A.weight": torch.randn(4, 4096), "diffusion_model.transformer_blocks.0.attn1.to_k"
               ".lora_A.weight": torch.randn(4, 4096), "diffusion_model.transformer_blocks.0.attn1.to_k"
               ".lora_B.weight": torch.randn(4096, 4)}, str(tmp_path / "half.safetensors"))
    assert _report(tmp_path / "half.safetensors").health.status == "broken"
    quick = _report(tmp_path / "half.safetensors", header_only=True)
    assert quick.health.status is None and "only one of their two LoRA matrices" in quick.summary()


def test_zero_size_tensors_are_rank_0_and_change_nothing(tmp_path):
    save_file({f"{BASE}.lora_A.weight": torch.zeros(0, 4096), f"{BASE}.lora_B.weight": torch.zeros(4096, 0)},
              str(tmp_path / "z.safetensors"))
    r = _report(tmp_path / "z.safetensors")
    assert r.rank.mode == 0 and r.scale is None
    assert r.health.status == "broken" and any("rank 0" in f for f in r.health.findings)


@pytest.mark.parametrize("key", ["config", "training_config", "ss_tag_frequency", "lora_adapter_metadata",
                                 "ss_datasets"])
def test_deeply_nested_json_in_metadata_is_ignored_not_a_crash(tmp_path, key):
    deep = '{"a":' * 50_000 + "1" + "}" * 50_000
    path = make_lora(tmp_path / "d.safetensors", ltx2_modules(n_blocks=1), rank=1, metadata={key: deep})
    r = _report(path, header_only=True)
    assert r.trigger_words == [] and r.metadata[key].endswith("chars)")


def test_deeply_nested_adapter_config_is_refused_plainly(tmp_path):
    folder = tmp_path / "adapter"
    make_lora(folder / "adapter_model.safetensors", ltx2_modules(n_blocks=1), rank=1, convention="peft")
    (folder / "adapter_config.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LoraportError, match="not valid JSON"):
        inspect_lora(folder)


def test_gguf_renamed_to_safetensors_is_named(tmp_path):
    (tmp_path / "lora.safetensors").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\0" * 64)
    with pytest.raises(LoraportError, match="GGUF"):
        inspect_lora(tmp_path / "lora.safetensors")


def test_truncated_file_is_refused_even_header_only(tmp_path):
    path = make_lora(tmp_path / "t.safetensors", ltx2_modules(n_blocks=1), rank=4)
    path.write_bytes(path.read_bytes()[:-100])
    for header_only in (True, False):
        with pytest.raises(LoraportError, match="outside the .*-byte data area"):
            inspect_lora(path, header_only=header_only)


def test_file_shrunk_between_header_and_weights_says_ended_early(tmp_path, monkeypatch):
    from tools.inspect import safetensors_header

    path = make_lora(tmp_path / "s.safetensors", ltx2_modules(n_blocks=1), rank=4)
    real = safetensors_header.read_header

    def read_then_truncate(p):
        header = real(p)
        p.write_bytes(p.read_bytes()[: header.file_size // 2])  # another process rewrites the file meanwhile
        return header

    monkeypatch.setattr("tools.inspect.inspector.read_header", read_then_truncate)  # the streamed read must notice
    with pytest.raises(LoraportError, match="ended early"):
        inspect_lora(path)


@pytest.mark.parametrize("meta", [{"ss_network_dim": 32}, {"nested": {"a": [1, 2]}}, {"trigger": None}])
def test_non_string_metadata_values_are_kept_as_text(tmp_path, meta):
    header = {"__metadata__": meta, f"{BASE}.lora_A.weight": {"dtype": "F32", "shape": [1, 2], "data_offsets": [0, 8]},
              f"{BASE}.lora_B.weight": {"dtype": "F32", "shape": [2, 1], "data_offsets": [8, 16]}}
    r = _report(_raw(tmp_path / "n.safetensors", header, struct.pack("<4f", 1, 2, 3, 4)))
    assert all(isinstance(v, str) for v in r.metadata.values()) and r.health.status == "ok"


@pytest.mark.parametrize("entry,why", [
    ({"dtype": "f32", "shape": [2], "data_offsets": [0, 8]}, "unknown dtype 'f32'"),
    ({"dtype": ["F32"], "shape": [2], "data_offsets": [0, 8]}, "unknown dtype"),
    ({"dtype": "F32", "shape": [True, 2], "data_offsets": [0, 8]}, "invalid shape"),
    ({"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}, "invalid shape"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}, "invalid data_offsets"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}, "outside"),
    ({"dtype": "F32", "shape": [2], "data_offsets": [0]}, "invalid data_offsets"),
    ({"dtype": "F32", "shape": [2]}, "invalid data_offsets"),
    ({"dtype": "F32", "shape": -1, "data_offsets": [0, 8]}, "invalid shape"),
])
def test_malformed_tensor_entries_name_the_tensor(tmp_path, entry, why):
    with pytest.raises(LoraportError, match=why) as err:
        inspect_lora(_raw(tmp_path / "e.safetensors", {f"{BASE}.lora_A.weight": entry}, b"\0" * 8))
    assert "lora_A" in err.value.message or "outside" in err.value.message


def test_header_length_shorter_than_the_json_is_refused(tmp_path):
    h = json.dumps({f"{BASE}.lora_A.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (tmp_path / "s.safetensors").write_bytes(struct.pack("<Q", len(h) - 10) + h + b"\0" * 8)
    with pytest.raises(LoraportError, match="not valid JSON"):
        inspect_lora(tmp_path / "s.safetensors")


def test_nan_in_a_bf16_down_matrix_is_found(tmp_path):
    a, b = torch.randn(2, 64).to(torch.bfloat16), torch.randn(64, 2).to(torch.bfloat16)
    a[1, 5] = float("nan")
    save_file({f"{BASE}.lora_A.weight": a, f"{BASE}.lora_B.weight": b}, str(tmp_path / "n.safetensors"))
    r = _report(tmp_path / "n.safetensors")
    assert r.health.status == "broken" and r.health.nan_tensors == 1


@pytest.mark.parametrize("dtype,name", [(torch.float32, "F32"), (torch.float16, "F16"), (torch.bfloat16, "BF16"),
                                        (torch.float8_e5m2, "F8_E5M2"), (torch.float64, "F64")])
def test_kohya_file_in_every_dtype_keeps_its_alpha(tmp_path, dtype, name):
    save_file(kohya_keys(ltx2_modules(n_blocks=1), rank=8, alpha=4.0, dtype=dtype), str(tmp_path / "k.safetensors"))
    r = _report(tmp_path / "k.safetensors")
    assert r.dtypes == {name: 72} and (r.alpha, r.scale) == (4.0, 0.5) and r.health.status == "ok"


@pytest.mark.parametrize("n,braces", [(100_001, False), (210_000, True)])
def test_a_header_with_more_tensors_than_any_lora_is_refused_before_the_work(tmp_path, n, braces):
    import time

    header = b"{" + b",".join(b'"t%d.lora_A.weight":{"dtype":"U8","shape":[],"data_offsets":[%d,%d]}' % (i, i, i + 1)
                              for i in range(n)) + b"}"  # written directly: json.dumps of 210k dicts is seconds
    path = tmp_path / "many.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * n)
    start = time.perf_counter()
    with pytest.raises(LoraportError, match="objects, far more" if braces else f"lists {n} tensors"):
        inspect_lora(path, header_only=True)
    print(f"refused {n} entries in {time.perf_counter() - start:.2f} s")  # a figure, not a timed assertion


def test_a_read_error_from_the_system_is_a_loraport_error(tmp_path, monkeypatch):
    path = make_lora(tmp_path / "io.safetensors", ltx2_modules(n_blocks=1), rank=2)

    def failing_open(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr("tools.inspect.safetensors_header.open", failing_open, raising=False)
    with pytest.raises(LoraportError, match="cannot be read: Input/output error"):
        inspect_lora(path)


def test_a_header_with_thousands_of_metadata_keys_gives_a_bounded_report(tmp_path):
    meta = {f"junk_{i}": "x" * 50 for i in range(20_000)} | {"modelspec.trigger_phrase": "zxq"}
    path = make_lora(tmp_path / "m.safetensors", ltx2_modules(n_blocks=1), rank=1, metadata=meta)
    r = _report(path, header_only=True)
    assert len(r.metadata) == 201 and r.metadata["..."] == "19801 more keys not shown"
    assert r.trigger_words == ["zxq"]  # read from the whole metadata, not the cut one


def test_header_length_longer_than_the_json_but_inside_the_file_is_refused(tmp_path):
    h = json.dumps({f"{BASE}.lora_A.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (tmp_path / "l.safetensors").write_bytes(struct.pack("<Q", len(h) + 6) + h + b"\x01\x02\x03\x04\x05\x06\0\0")
    with pytest.raises(LoraportError, match="not valid JSON"):
        inspect_lora(tmp_path / "l.safetensors")

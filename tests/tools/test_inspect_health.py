"""Weight health: the failures users meet (NaN gate logits, all-zero B) are found; healthy files pass in any dtype."""

import pytest
import torch
from safetensors.torch import load_file, save_file

from tests.tools.lora_factory import ltx2_modules, make_lora, make_ltx23_lora
from tools.inspect import inspect_lora
from tools.inspect.health import run_stats, tensor_stats
from tools.inspect.safetensors_header import iter_runs, read_header


def test_nan_in_gate_logits_is_broken_and_says_black_video(tmp_path):
    path = make_ltx23_lora(tmp_path / "nan.safetensors", rank=2, n_blocks=2, nan_in="attn1.to_gate_logits")
    h = inspect_lora(path).health
    assert h.status == "broken" and h.nan_tensors == 4  # attn1 and audio_attn1 gates of 2 blocks
    assert any("black video" in f for f in h.findings)
    assert "broken" in inspect_lora(path).verdict.action


def test_all_zero_b_is_broken_because_it_changes_nothing(tmp_path):
    path = make_lora(tmp_path / "zero.safetensors", ltx2_modules(n_blocks=2), rank=2, zero_b=True)
    h = inspect_lora(path).health
    assert h.status == "broken" and h.zero_B_layers == 48
    assert any("changes nothing" in f for f in h.findings)


def test_some_untrained_layers_are_suspect(tmp_path):
    path = make_lora(tmp_path / "part.safetensors", ltx2_modules(n_blocks=2), rank=2)
    tensors = load_file(str(path))
    zero = "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight"
    tiny = "diffusion_model.transformer_blocks.1.attn2.to_k.lora_B.weight"
    tensors[zero] = torch.zeros_like(tensors[zero])
    tensors[tiny] = torch.full_like(tensors[tiny], 1e-8)
    save_file(tensors, str(path))
    h = inspect_lora(path).health
    assert (h.status, h.zero_B_layers, h.near_zero_B_layers) == ("suspect", 1, 1)
    assert any("never trained" in f for f in h.findings)


def test_outlier_layer_is_suspect(tmp_path):
    path = make_lora(tmp_path / "big.safetensors", ltx2_modules(n_blocks=2), rank=2)
    tensors = load_file(str(path))
    key = "diffusion_model.transformer_blocks.1.attn1.to_v.lora_B.weight"
    tensors[key] = tensors[key] * 10_000
    save_file(tensors, str(path))
    h = inspect_lora(path).health
    assert h.status == "suspect" and h.max_norm > 100 * h.median_norm


@pytest.mark.parametrize("dtype,name", [(torch.float32, "F32"), (torch.float16, "F16"),
                                        (torch.float8_e4m3fn, "F8_E4M3")])
def test_healthy_file_is_ok_in_every_dtype(tmp_path, dtype, name):
    path = make_lora(tmp_path / "ok.safetensors", ltx2_modules(n_blocks=1), rank=2, dtype=dtype)
    r = inspect_lora(path)
    assert r.dtypes == {name: 48} and r.health.status == "ok" and r.health.findings == []


def test_inf_is_found_in_fp16(tmp_path):
    path = make_lora(tmp_path / "inf.safetensors", ltx2_modules(n_blocks=1), rank=2, dtype=torch.float16)
    tensors = load_file(str(path))
    key = "diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight"
    tensors[key][0, 0] = float("inf")
    save_file(tensors, str(path))
    h = inspect_lora(path).health
    assert h.status == "broken" and h.inf_tensors == 1


def test_tensor_stats_match_torch_across_chunks():
    t = torch.randn(3, 100_000, dtype=torch.bfloat16)  # > 4 chunks of 65536
    t[2, 99_999] = float("nan")
    s = tensor_stats(t)
    finite = torch.nan_to_num(t.float(), nan=0.0)
    assert s.nan == 1 and s.inf == 0 and s.numel == 300_000
    assert s.norm == pytest.approx(float(finite.norm()), rel=1e-4)
    fp8 = torch.full((70_000,), 0.5).to(torch.float8_e4m3fn)
    assert tensor_stats(fp8).rms == pytest.approx(0.5)


def test_run_stats_flags_only_the_bad_rows_and_matches_per_tensor_stats():
    block = torch.randn(4, 5000, dtype=torch.bfloat16)
    block[1, 7] = float("nan")
    block[3, 0] = float("inf")
    runs = run_stats(block)
    assert [(s.nan, s.inf) for s in runs] == [(0, 0), (1, 0), (0, 0), (0, 1)]
    for row, s in zip(block, runs):  # norms come back in bf16: 8 significant bits
        assert s.norm == pytest.approx(tensor_stats(row).norm, rel=1 / 128)


def test_float64_tensors_are_checked_not_refused(tmp_path):
    # vector_norm refuses to narrow float64 to float32; the health scan must accumulate F64 in float64.
    path = make_lora(tmp_path / "f64.safetensors", ltx2_modules(n_blocks=1), rank=2, dtype=torch.float64)
    h = inspect_lora(path).health
    assert h.checked and h.status == "ok" and h.median_norm > 0


def test_runs_read_every_tensor_once_in_bounded_pieces(tmp_path):
    path = make_lora(tmp_path / "runs.safetensors", ltx2_modules(n_blocks=2), rank=4)
    header = read_header(path)
    expected = load_file(str(path))
    largest = max(e.nbytes for e in header.tensors)
    seen = []
    for run, block in iter_runs(header, max_bytes=3 * largest):
        assert block.shape == (len(run), run[0].numel)
        assert run[-1].end - run[0].begin <= 3 * largest  # the buffer bound holds
        for e, row in zip(run, block):
            assert torch.equal(row.view(e.shape), expected[e.name])
            seen.append(e.name)
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    assert seen == [e.name for e in header.tensors]  # file order: forward reads only


def test_runs_split_on_dtype_size_and_empty_tensors_and_yield_exact_bytes(tmp_path):
    tensors = {  # safetensors orders them by dtype (widest first), then name
        "a": torch.randn(2, 3, dtype=torch.bfloat16), "b": torch.randn(3, 2, dtype=torch.bfloat16),
        "c": torch.randn(6), "d": torch.zeros(0, 3, dtype=torch.bfloat16), "e": torch.arange(6),
        "f": torch.randn(6, dtype=torch.bfloat16), "g": torch.full((6,), 0.5).to(torch.float8_e4m3fn),
    }
    path = tmp_path / "mixed.safetensors"
    save_file(tensors, str(path))
    grouped = []
    for run, block in iter_runs(read_header(path)):  # views of one reused buffer: check each before the next
        grouped.append([e.name for e in run])
        for e, row in zip(run, block):
            assert torch.equal(row.view(e.shape).view(torch.uint8), tensors[e.name].view(torch.uint8))
        if run[0].dtype == "F8_E4M3":
            assert run_stats(block)[0].rms == pytest.approx(0.5)  # fp8: no CPU norm, the chunked path
    assert sorted(grouped) == [["a", "b"], ["c"], ["d"], ["e"], ["f"], ["g"]]  # d (empty) parts f from a, b

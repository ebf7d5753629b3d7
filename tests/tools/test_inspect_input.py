"""Bad input: one clear LoraportError each; no crash, no hang, no unpickling, no big allocation."""

import json
import pathlib
import pickle
import struct
import tracemalloc
import zipfile

import pytest

from core.errors import LoraportError
from tests.tools.lora_factory import ltx2_modules, make_lora
from tools.inspect import inspect_lora, safetensors_header

pytestmark = pytest.mark.timeout(30)


def _raw(path, header: bytes, data: bytes = b"", length: int | None = None):
    path.write_bytes(struct.pack("<Q", len(header) if length is None else length) + header + data)
    return path


def _st(path, entries: dict, data_len: int):
    return _raw(path, json.dumps(entries).encode(), b"\0" * data_len)


class _Touch:
    """Unpickling this creates a marker file: proof, if the file exists, that someone unpickled it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.marker),)


def _refused(path, *words):
    with pytest.raises(LoraportError) as err:
        inspect_lora(path)
    for w in words:
        assert w in err.value.message
    return err.value.message


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".pth", ".bin"])
def test_pickle_extensions_are_refused_unopened(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"lora{suffix}"
    path.write_bytes(pickle.dumps(_Touch(marker)))
    _refused(path, "pickle", "run code")
    assert not marker.exists()


def test_pickle_and_zip_magic_is_refused_whatever_the_name(tmp_path):
    marker = tmp_path / "pwned"
    disguised = tmp_path / "lora.safetensors"
    disguised.write_bytes(pickle.dumps(_Touch(marker), protocol=2))
    _refused(disguised, "pickle")
    assert not marker.exists()
    torch_zip = tmp_path / "zipped.safetensors"  # torch.save's format is a zip holding a pickle
    with zipfile.ZipFile(torch_zip, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(_Touch(marker)))
    _refused(torch_zip, "pickle")
    assert not marker.exists()


def test_text_file_is_not_safetensors(tmp_path):
    path = tmp_path / "notes.safetensors"
    path.write_text("this is a text file, not a LoRA at all\n" * 10)
    _refused(path, "not a valid safetensors file")


def test_empty_file_missing_path_and_directory(tmp_path):
    (tmp_path / "empty.safetensors").write_bytes(b"")
    _refused(tmp_path / "empty.safetensors", "empty")
    _refused(tmp_path / "nope.safetensors", "no such file")
    (tmp_path / "folder").mkdir()
    _refused(tmp_path / "folder", "directory")


def test_header_length_past_the_file_is_refused_without_allocating(tmp_path):
    path = _raw(tmp_path / "a.safetensors", b'{"x": 1}', length=1000)
    _refused(path, "claims 1000 bytes")
    huge = _raw(tmp_path / "b.safetensors", b"{}" + b" " * 64, length=2**63)
    tracemalloc.start()
    _refused(huge, "100 MiB")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1024 * 1024


def test_header_over_100_mib_is_refused(tmp_path):
    path = _raw(tmp_path / "a.safetensors", b"{}", length=100 * 1024 * 1024 + 1)
    _refused(path, "100 MiB")


@pytest.mark.parametrize("header,why", [
    (b"{not json at all", "not valid JSON"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'{"w": 5}', "not an object"),
    (b"{\xff\xfe}", "not valid JSON"),
    (b'{"__metadata__": [1]}', "__metadata__"),
    (b"{}", "no tensors"),
])
def test_malformed_headers(tmp_path, header, why):
    _refused(_raw(tmp_path / "a.safetensors", header), why)


def test_offsets_outside_the_data_area(tmp_path):
    path = _st(tmp_path / "a.safetensors", {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, 8)
    _refused(path, "outside the 8-byte data area")


def test_overlapping_tensors(tmp_path):
    entries = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
               "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]}}
    _refused(_st(tmp_path / "a.safetensors", entries, 24), "overlap")


def test_offsets_not_matching_dtype_times_shape(tmp_path):
    path = _st(tmp_path / "a.safetensors", {"w": {"dtype": "BF16", "shape": [4, 4], "data_offsets": [0, 16]}}, 16)
    _refused(path, "32 bytes", "span 16")


def test_absurd_shape_is_refused_not_allocated(tmp_path):
    entries = {"w": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 16]}}
    _refused(_st(tmp_path / "a.safetensors", entries, 16), "span 16")


def test_unknown_dtype(tmp_path):
    path = _st(tmp_path / "a.safetensors", {"w": {"dtype": "F7", "shape": [2], "data_offsets": [0, 2]}}, 2)
    _refused(path, "unknown dtype 'F7'")


def test_negative_or_non_integer_offsets(tmp_path):
    path = _st(tmp_path / "a.safetensors", {"w": {"dtype": "U8", "shape": [2], "data_offsets": [-2, 0]}}, 2)
    _refused(path, "invalid data_offsets")


def test_folder_without_weights_and_with_bad_config(tmp_path):
    folder = tmp_path / "adapter"
    folder.mkdir()
    (folder / "adapter_config.json").write_text("{}")
    _refused(folder, "directory without one LoRA weights file")
    make_lora(folder / "adapter_model.safetensors", ltx2_modules(n_blocks=1), rank=1, convention="peft")
    (folder / "adapter_config.json").write_text("{broken")
    _refused(folder, "not valid JSON")


def test_header_only_reads_only_the_header(tmp_path, monkeypatch):
    path = make_lora(tmp_path / "a.safetensors", ltx2_modules(n_blocks=2), rank=8)
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    read = []

    class Counting:
        def __init__(self, f):
            self.f = f

        def read(self, size=-1):
            data = self.f.read(size)
            read.append(len(data))
            return data

        def readinto(self, buf):
            got = self.f.readinto(buf)
            read.append(got)
            return got

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

    monkeypatch.setattr(safetensors_header, "open", lambda p, mode="r": Counting(open(p, mode)), raising=False)
    r = inspect_lora(path, header_only=True)
    assert sum(read) == 8 + n < path.stat().st_size / 10
    assert r.health.checked is False and r.health.status is None

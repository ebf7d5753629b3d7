"""`loraport inspect`: one JSON document with --json, a readable summary without, exit 2 + one line on bad input."""

import json

import pytest

from cli.main import main
from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora


def _run(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["inspect", *map(str, argv)])
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def test_inspect_json_is_one_document_with_the_verdict(tmp_path, capsys):
    path = make_ltx2_lora(tmp_path / "old.safetensors", rank=2, n_blocks=2, metadata=ltx2_metadata())
    code, out, err = _run(capsys, path, "--json")
    report = json.loads(out)
    assert code == 0 and err == ""
    assert report["base_model"]["family"] == "ltx-2"
    assert report["verdict"] == {**report["verdict"], "target": "ltx-2.3", "status": "loads-but-invalid"}
    assert report["health"]["status"] == "ok"


def test_inspect_summary_and_header_only(tmp_path, capsys):
    path = make_ltx2_lora(tmp_path / "old.safetensors", rank=2, n_blocks=2, metadata=ltx2_metadata())
    code, out, _ = _run(capsys, path, "--header-only", "--target", "ltx-2")
    assert code == 0
    assert "On ltx-2: native" in out and "not checked (header-only)" in out


def test_inspect_bad_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "model.ckpt"
    bad.write_bytes(b"\x80\x04junk")
    code, out, err = _run(capsys, bad)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "pickle" in err and err.count("\n") == 1

"""`loraport inspect FILE --json` as a user runs it (the installed command, a separate process) on files in the
layouts trainers write: one JSON document on stdout with the version and verdict, or exit 2 and one line."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tools.lora_layouts import kohya_keys, musubi_metadata, musubi_training_lora

LORAPORT = shutil.which("loraport", path=str(Path(sys.executable).parent)) or shutil.which("loraport")


def _run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([LORAPORT, "inspect", *map(str, args)], capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(LORAPORT is None, reason="the loraport command is not installed")
def test_the_command_reads_a_musubi_23_lora_and_a_wan_lora(tmp_path):
    from safetensors.torch import save_file

    musubi = musubi_training_lora(tmp_path / "mychar.safetensors", metadata=musubi_metadata())
    done = _run(musubi, "--header-only", "--json", "--target", "ltx-2.5")
    report = json.loads(done.stdout)
    assert done.returncode == 0 and done.stderr == ""
    assert report["base_model"]["family"] == "ltx-2.3" and report["verdict"]["status"] == "test-first"
    assert report["convention"] == "kohya" and report["scale"] == 0.5 and len(report["verdict"]["test_plan"]) == 3

    wan = {f"blocks.{b}.self_attn.{p}": (1536, 1536) for b in range(30) for p in "qkvo"}
    save_file(kohya_keys(wan, rank=1), str(tmp_path / "wan.safetensors"))
    report = json.loads(_run(tmp_path / "wan.safetensors", "--header-only", "--json").stdout)
    assert report["base_model"]["family"] == "wan" and report["verdict"]["status"] == "incompatible"


@pytest.mark.skipif(LORAPORT is None, reason="the loraport command is not installed")
def test_the_command_refuses_a_checkpoint_with_one_line(tmp_path):
    import torch
    from safetensors.torch import save_file

    checkpoint = tmp_path / "ltx-2.3-22b-dev.safetensors"
    save_file({"model.diffusion_model.proj_out.weight": torch.zeros(4, 4)}, str(checkpoint))
    done = _run(checkpoint, "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: ") and "holds no LoRA layers" in done.stderr and done.stderr.count("\n") == 1

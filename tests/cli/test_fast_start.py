"""`loraport inspect --header-only` starts fast: it never imports torch (commands load their modules when run)."""

import json
import subprocess
import sys

from tests.tools.lora_factory import ltx2_metadata, make_ltx2_lora

PROBE = """
import json, sys
from cli.main import main
try:
    main(["inspect", "--header-only", "--json", sys.argv[1]])
except SystemExit as exit_:
    code = exit_.code or 0
heavy = sorted(m for m in ("torch", "diffusers", "transformers", "peft", "numpy") if m in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""


def test_header_only_inspect_imports_no_torch(tmp_path):
    lora = make_ltx2_lora(tmp_path / "old.safetensors", rank=2, metadata=ltx2_metadata())
    done = subprocess.run([sys.executable, "-c", PROBE, str(lora)], capture_output=True, text=True, timeout=120)
    probe = json.loads(done.stderr.strip().splitlines()[-1])
    assert probe["code"] == 0 and json.loads(done.stdout)["base_model"]["family"] == "ltx-2"
    assert probe["heavy"] == [], f"header-only inspect imported {probe['heavy']}"


def test_kohya_alpha_scalars_are_read_without_torch(tmp_path):
    import torch
    from safetensors.torch import save_file

    from tools.inspect.safetensors_header import read_header, read_scalars

    values = {"a.alpha": torch.tensor(8.0, dtype=torch.bfloat16), "b.alpha": torch.tensor(4.5, dtype=torch.float16),
              "c.alpha": torch.tensor(16.0), "d.alpha": torch.tensor(2.0, dtype=torch.float64),
              "e.alpha": torch.tensor(3, dtype=torch.int32), "f.alpha": torch.tensor(1.5).to(torch.float8_e4m3fn)}
    save_file(values, tmp_path / "alphas.safetensors")
    header = read_header(tmp_path / "alphas.safetensors")
    assert read_scalars(header, header.tensors) == {"a.alpha": 8.0, "b.alpha": 4.5, "c.alpha": 16.0, "d.alpha": 2.0,
                                                     "e.alpha": 3.0, "f.alpha": 1.5}

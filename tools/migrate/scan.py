"""Which files of a folder are LTX-2 LoRAs to migrate, and why each other one is skipped.

Every ``.safetensors`` file (and every diffusers / peft LoRA folder) is inspected; a file that cannot be read
becomes a skip with the inspector's reason, so one bad file never stops the batch.
"""

from pathlib import Path

from pydantic import BaseModel

from core.errors import LoraportError
from tools.inspect import InspectReport, inspect_lora

ADAPTER_FILES = ("pytorch_lora_weights.safetensors", "adapter_model.safetensors")
MIGRATABLE = ("ltx-2", "ltx-2.x")


class Found(BaseModel):
    path: str
    report: InspectReport | None = None
    skip: str | None = None
    note: str | None = None


def lora_files(folder: Path) -> list[Path]:
    """``*.safetensors`` directly in ``folder`` and sub-folders that hold a diffusers / peft LoRA, by name."""
    if not folder.is_dir():
        raise LoraportError(f"{folder} is not a folder: pass the folder that holds your LoRA files.")
    found = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".safetensors"]
    found += [p for p in folder.iterdir() if p.is_dir() and any((p / f).is_file() for f in ADAPTER_FILES)]
    if not found:
        raise LoraportError(f"{folder} holds no .safetensors LoRA: point at the folder with your LTX-2 LoRAs.")
    return sorted(found, key=lambda p: p.name.lower())


def classify(path: Path, target: str) -> Found:
    """Inspect one file; say whether it is an LTX-2 LoRA to retrain on ``target`` or why it is skipped."""
    try:
        report = inspect_lora(path, target=target)
    except LoraportError as err:
        return Found(path=str(path), skip=f"cannot be read: {err.message}")
    except Exception as err:  # a hostile or odd file must not stop the batch: say what happened, go on
        return Found(path=str(path), skip=f"cannot be read ({type(err).__name__}: {err})")
    family, status = report.base_model.family, report.verdict.status
    if status == "native":
        return Found(path=str(path), report=report, skip=f"already native {target}: use it as it is")
    if family not in MIGRATABLE:
        what = {"unknown": "an unknown model", "other": report.base_model.variant or "another model"}.get(family, family)
        return Found(path=str(path), report=report,
                     skip=f"not an LTX-2 LoRA (made for {what}): {report.verdict.reason}")
    note = None
    if family == "ltx-2.x":
        note = (f"nothing in the file says LTX-2 or {target} (same keys on both): taken as LTX-2 because it is in "
                "this folder; drop it from the batch if you trained it on the new model")
    if report.health.status == "broken":
        note = ((note + "; ") if note else "") + "its weights are broken, which does not matter: it is retrained " \
                                                 "from the clips"
    return Found(path=str(path), report=report, note=note)

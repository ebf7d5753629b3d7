"""IC-LoRA references at generation time, for Studio and the agent: whether a LoRA needs one (its metadata says),
which references its dataset offers, and the reference a request names, checked before anything renders.

An IC-LoRA is recognised by ``loraport.strategy = ic-lora`` or by ltx-trainer's ``reference_*_scale_factor``
metadata keys (``trainer.reference``); its reference downscale factor comes from the same keys. Rendering one
without a reference would show the base model's behaviour, not the LoRA's, so it is refused with what to give.
"""

from pathlib import Path

from pydantic import BaseModel, Field

from core.errors import LoraportError
from trainer.media import is_media, probe, supported_media
from trainer.reference import Reference, check_settings, read_reference_settings

NEEDS_ONE = ("{name} is an IC-LoRA: it renders from a reference image or clip (the face or scene it carries "
             "over). Upload one (reference_upload_id) or pick one of its dataset's references (reference_media).")


class ReferenceInfo(BaseModel):
    ic_lora: bool = Field(description="The LoRA's metadata marks it as an IC-LoRA: generation needs a reference.")
    downscale_factor: int = Field(1, description="The reference is read at 1/n of the output size.")
    references: list[str] = Field(default_factory=list, description="Its dataset's references (relative paths).")
    message: str


def dataset_references(config: dict | None) -> list[str]:
    """The references of a training run's dataset, by path relative to it (captions.jsonl or the suffix)."""
    if not config or (config.get("strategy") or {}).get("name") != "ic-lora":
        return []
    from trainer.config import TrainConfig
    from trainer.data import list_entries

    try:
        cfg = TrainConfig.model_validate(config)
        entries = list_entries(cfg, [])
    except (LoraportError, ValueError):
        return []  # the dataset moved or the config is old: uploads still work
    root = Path(cfg.data.dataset_dir).expanduser().resolve()
    names = []
    for e in entries:
        if e.reference is not None and e.reference.is_file():
            ref = e.reference.resolve()
            name = str(ref.relative_to(root)) if ref.is_relative_to(root) else None
            if name and name not in names:
                names.append(name)
    return names


def reference_info(lora_path: Path, config: dict | None = None) -> ReferenceInfo:
    """What Studio shows for a LoRA: whether it needs a reference, and which ones its dataset offers."""
    settings = read_reference_settings(Path(lora_path))
    if not settings.ic_lora:
        return ReferenceInfo(ic_lora=False, message="A plain LoRA: a prompt is all it needs.")
    return ReferenceInfo(ic_lora=True, downscale_factor=settings.downscale_factor,
                         references=dataset_references(config), message=NEEDS_ONE.format(name=Path(lora_path).name))


def pick_reference(lora_path: Path, *, config: dict | None = None, upload_file: Path | None = None,
                   media: str | None = None) -> Reference | None:
    """The reference a generation request names (an uploaded file, or one of the run's dataset files), checked
    against the LoRA: an IC-LoRA without one, or a plain LoRA with one, is refused with what to do."""
    name = Path(lora_path).name
    settings = read_reference_settings(Path(lora_path))
    if upload_file is not None and media:
        raise LoraportError("give one reference: an upload (reference_upload_id) or a dataset file "
                            "(reference_media), not both.")
    if not settings.ic_lora:
        if upload_file is not None or media:
            raise LoraportError(f"{name} is not an IC-LoRA (its metadata has no reference settings): it ignores "
                                "a reference; generate without one.")
        return None
    check_settings(settings, name)
    if upload_file is None and not media:
        raise LoraportError(NEEDS_ONE.format(name=name))
    if upload_file is not None:
        path, label = Path(upload_file), Path(upload_file).name
    else:
        path, label = _dataset_file(config, media), media
    if not is_media(path) or not path.is_file():
        raise LoraportError(f"the reference {label} is not an image or clip ({supported_media()}): upload one.")
    probe(path)  # headers only: a text file named .mp4 or a clip without a picture is refused now, not mid-render
    return Reference(path=path, label=label, downscale_factor=settings.downscale_factor)


def _dataset_file(config: dict | None, media: str) -> Path:
    data = (config or {}).get("data") or {}
    if not data.get("dataset_dir"):
        raise LoraportError("this LoRA has no dataset in this workspace to pick a reference from: upload one "
                            "(reference_upload_id).")
    root = Path(data["dataset_dir"]).expanduser().resolve()
    if "\x00" in media:  # no file name holds NUL; resolve() would raise ValueError on it
        raise LoraportError(f"{media!r}: a reference must be a file of the LoRA's dataset; use a path relative to it.")
    path = (root / media).resolve()
    if not path.is_relative_to(root):
        raise LoraportError(f"{media}: a reference must be a file of the LoRA's dataset; use a path relative to it.")
    if not path.is_file():
        raise LoraportError(f"{media} is not in the LoRA's dataset ({root.name}): pick one of "
                            "GET /api/studio/lora-info's references, or upload one.")
    return path

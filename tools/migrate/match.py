"""Which clip folder each LoRA retrains from: by the file's stem, then by the dataset its metadata names.

Names compare loosely: case, spaces, dashes and underscores do not matter, nor the words a LoRA file's name
usually adds ("lora", "ltx2", "ltx-2", "v1"). Metadata is data: folder names are read from it, never paths
followed outside the datasets folder. kohya / musubi record the training folders in ``ss_dataset_dirs`` and
``ss_tag_frequency`` (``<repeats>_<name>``) and in ``ss_datasets`` (``image_dir`` of each subset); ai-toolkit keeps
its config, whose datasets have a ``folder_path``.
"""

import re
from pathlib import Path

from tools.inspect.metadata import json_doc, json_values
from tools.migrate.models import MatchedBy

_NOISE = re.compile(r"(?:^|_)(?:lora|ltx_?2(?:_?19b)?|ltxv?|v\d+|final)(?=_|$)")


def key(name: str) -> str:
    """``My-Style_LoRA v2`` -> ``my_style``: the loose form names are compared in."""
    text = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    text = _NOISE.sub("", text)
    return re.sub(r"_+", "_", text).strip("_")


def clip_folders(datasets: Path) -> dict[str, Path]:
    """Every sub-folder of ``datasets`` by its loose name (and ``datasets`` itself is never one)."""
    return {key(p.name): p for p in sorted(datasets.iterdir()) if p.is_dir() and not p.name.startswith(".")}


def dataset_names(metadata: dict[str, str]) -> list[str]:
    """Folder names the LoRA's metadata says it was trained on, most specific first."""
    names: list[str] = []
    for field in ("ss_dataset_dirs", "ss_tag_frequency"):
        doc = json_doc(metadata.get(field))
        if isinstance(doc, dict):
            names += [re.sub(r"^\d+_", "", str(k)) for k in doc]
    doc = json_doc(metadata.get("ss_datasets"))
    for dataset in doc if isinstance(doc, list) else []:
        for subset in (dataset.get("subsets") or []) if isinstance(dataset, dict) else []:
            if isinstance(subset, dict) and subset.get("image_dir"):
                names.append(_basename(str(subset["image_dir"])))
    for field in ("config", "training_config"):
        names += [_basename(p) for p in json_values(json_doc(metadata.get(field)), ("folder_path",))]
    if metadata.get("ss_output_name"):
        names.append(metadata["ss_output_name"])
    return [n for n in dict.fromkeys(n.strip() for n in names) if n]


def match(stem: str, metadata: dict[str, str], folders: dict[str, Path]) -> tuple[Path, MatchedBy] | None:
    """The clip folder for one LoRA, and how it was found; None when neither its name nor its metadata says."""
    if key(stem) in folders:
        return folders[key(stem)], "stem"
    for name in dataset_names(metadata):
        if key(name) in folders:
            return folders[key(name)], "metadata"
    return None


def _basename(path: str) -> str:
    return re.split(r"[\\/]", path.rstrip("\\/"))[-1]

"""An IC-LoRA's export carries the reference keys ltx-pipelines and ComfyUI read (as ltx-trainer names them), and
`inspect` reads them back; the finished message says how to use it in ComfyUI with a reference."""

from safetensors import safe_open

from tools.inspect import inspect_lora
from trainer.config import ModelConfig, TrainConfig
from trainer.export import export_lora, lora_metadata
from trainer.lora import add_lora
from trainer.models import load_components
from trainer.reference import finished_message, read_reference_settings


def _export(tmp_path, **strategy):
    cfg = TrainConfig(data=dict(dataset_dir=tmp_path, buckets=[dict(width=128, height=64, frames=17)]),
                      lora=dict(rank=4, alpha=4), strategy=strategy, recipe="face")
    transformer = load_components(ModelConfig()).transformer
    add_lora(transformer, cfg.lora)
    return cfg, export_lora(transformer, tmp_path / "face.safetensors", lora_metadata(cfg, steps=3))


def test_inspect_reads_back_the_ic_metadata_of_an_export(tmp_path):
    cfg, path = _export(tmp_path, name="ic-lora", reference_downscale_factor=2)
    report = inspect_lora(path, header_only=True)
    assert report.ic_lora == {"reference_downscale_factor": 2.0, "reference_spatial_scale_factor": 2.0}
    assert report.migration.recipe == "face"
    assert "IC-LoRA: metadata reference_downscale_factor, reference_spatial_scale_factor" in " ".join(
        report.verdict.evidence)
    with safe_open(str(path), framework="pt") as f:
        md = f.metadata()
    # what ltx-pipelines (int, default 1) and ComfyUI-LTXVideo's loader (float) take from the file
    assert int(md.get("reference_downscale_factor", 1)) == 2 and float(md["reference_downscale_factor"]) == 2.0
    assert read_reference_settings(path).downscale_factor == 2


def test_a_plain_export_has_no_ic_metadata(tmp_path):
    _, path = _export(tmp_path)
    assert inspect_lora(path, header_only=True).ic_lora is None
    assert not read_reference_settings(path).ic_lora


def test_the_finished_message_says_how_to_use_an_ic_lora_in_comfyui(tmp_path):
    cfg, path = _export(tmp_path, name="ic-lora", reference_downscale_factor=2)
    text = finished_message(cfg.model_dump(mode="json"), path)
    assert text.startswith("done. face.safetensors is an IC-LoRA")
    for words in ("LTXICLoRALoaderModelOnly", "LTXAddVideoICLoRAGuide", "reference_downscale_factor (2)",
                  "strength 1.0", "crop 'center'", "reference image or clip"):
        assert words in text
    assert finished_message({"strategy": {"name": "text-to-video"}}, path) == "done"

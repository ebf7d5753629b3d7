"""Studio with an IC-LoRA: its metadata says it needs a reference; with one (an upload, or a file of its dataset)
both clips render from it and come back beside it; without one the request is a clear 400."""

import pytest
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from core.errors import LoraportError
from tests.trainer.clips import make_clip
from tests.web.test_studio import _comfy_lora
from tools.references import dataset_references, pick_reference, reference_info


def _ic_lora(path):
    lora = _comfy_lora(path)
    save_file(load_file(str(lora)), str(lora), metadata={"loraport.strategy": "ic-lora",
                                                         "reference_downscale_factor": "1"})
    return lora


def _upload(client, name, data):
    return client.post("/api/uploads", files=[("files", (name, data))]).json()[0]["id"]


@pytest.mark.slow
def test_an_ic_lora_renders_both_clips_from_an_uploaded_reference(client, tmp_path):
    lora_id = _upload(client, "face.safetensors", _ic_lora(tmp_path / "face.safetensors").read_bytes())
    info = client.get("/api/studio/lora-info", params={"lora_upload_id": lora_id}).json()
    assert info["ic_lora"] is True and "reference" in info["message"]

    refused = client.post("/api/studio/generate", json={"lora_upload_id": lora_id, "prompt": "zxface waves"})
    assert refused.status_code == 400 and "IC-LoRA" in refused.json()["error"]
    assert "reference_upload_id" in refused.json()["error"]

    ref_id = _upload(client, "me.mp4", make_clip(tmp_path / "me.mp4", color=(30, 60, 220), pattern="moving")
                     .read_bytes())
    body = {"lora_upload_id": lora_id, "prompt": "zxface waves", "seed": 3, "steps": 2, "frames": 9,
            "reference_upload_id": ref_id}
    r = client.post("/api/studio/generate", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["reference_name"] == "me.mp4"
    clips = [client.get(out[k]["video_url"]) for k in ("with_lora", "without_lora", "reference")]
    assert all(c.status_code == 200 and c.headers["content-type"] == "video/mp4" for c in clips)
    assert clips[0].content != clips[1].content  # the LoRA changed the picture, same seed, same reference


def test_a_plain_lora_refuses_a_reference_and_needs_none(client, tmp_path):
    lora_id = _upload(client, "plain.safetensors", _comfy_lora(tmp_path / "plain.safetensors").read_bytes())
    assert client.get("/api/studio/lora-info", params={"lora_upload_id": lora_id}).json()["ic_lora"] is False
    ref_id = _upload(client, "me.mp4", make_clip(tmp_path / "me.mp4").read_bytes())
    r = client.post("/api/studio/generate", json={"lora_upload_id": lora_id, "prompt": "x", "steps": 2,
                                                  "reference_upload_id": ref_id})
    assert r.status_code == 400 and "not an IC-LoRA" in r.json()["error"]


@pytest.mark.slow
def test_a_reference_can_be_picked_from_the_loras_dataset_and_nothing_outside_it(tmp_path):
    ds = tmp_path / "ds"
    make_clip(ds / "a.mp4")
    make_clip(ds / "a_ref.mp4")
    make_clip(ds / "b.mp4")
    (tmp_path / "secret.mp4").write_bytes(b"x")
    config = {"data": {"dataset_dir": str(ds)}, "strategy": {"name": "ic-lora"}}
    lora = _ic_lora(tmp_path / "face.safetensors")
    assert dataset_references(config) == ["a_ref.mp4"]
    assert reference_info(lora, config).references == ["a_ref.mp4"]
    ref = pick_reference(lora, config=config, media="a_ref.mp4")
    assert ref.path == (ds / "a_ref.mp4").resolve() and ref.name == "a_ref.mp4" and ref.strength == 1.0
    with pytest.raises(LoraportError, match="file of the LoRA's dataset"):
        pick_reference(lora, config=config, media="../secret.mp4")
    with pytest.raises(LoraportError, match="not in the LoRA's dataset"):
        pick_reference(lora, config=config, media="gone.mp4")
    with safe_open(str(lora), framework="pt") as f:  # the factor reaches the reference from the file's metadata
        assert f.metadata()["reference_downscale_factor"] == "1"

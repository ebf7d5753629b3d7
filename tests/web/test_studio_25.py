"""The Studio's as-is comparison: an old (2.3) LoRA rendered on another base, with and without it, same seed."""

import pytest

from tests.web.test_studio import _comfy_lora


@pytest.mark.slow  # four tiny renders on two models (~10 s)
def test_studio_renders_a_23_lora_as_it_is_on_25_beside_25_alone(client, tmp_path):
    lora = _comfy_lora(tmp_path / "old23.safetensors")
    upload = client.post("/api/uploads", files=[("files", ("old23.safetensors", lora.read_bytes()))]).json()[0]
    body = {"lora_upload_id": upload["id"], "prompt": "zorbly a cat", "seed": 3, "steps": 2}
    on25 = client.post("/api/studio/generate", json={**body, "model": "tiny-ltx-2.5"})
    assert on25.status_code == 200, on25.text
    r = on25.json()
    assert r["model_id"] == "tiny-ltx-2.5" and r["without_lora"] is not None and "noise" in r["note"]
    with_clip, without = client.get(r["with_lora"]["video_url"]), client.get(r["without_lora"]["video_url"])
    assert with_clip.status_code == without.status_code == 200 and with_clip.content != without.content
    on23 = client.post("/api/studio/generate", json=body).json()  # the LoRA's own model: another base, same seed
    assert on23["model_id"] == "tiny-ltx-2.3"
    assert client.get(on23["without_lora"]["video_url"]).content != without.content


def test_studio_refuses_an_unknown_base_model(client, tmp_path):
    lora = _comfy_lora(tmp_path / "old23.safetensors")
    upload = client.post("/api/uploads", files=[("files", ("old23.safetensors", lora.read_bytes()))]).json()[0]
    r = client.post("/api/studio/generate", json={"lora_upload_id": upload["id"], "prompt": "x", "model": "ltx-9"})
    assert r.status_code == 400 and "ltx-2.5" in r.json()["error"]

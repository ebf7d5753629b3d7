"""Artifacts: the LoRA download carries its trigger word; nothing outside the workspace is ever served."""

from urllib.parse import unquote

from safetensors.torch import save_file
import torch

from core.events import JobEvent
from core.store import open_db
from trainer import jobs
from trainer.config import TrainConfig


def _finished_job(workspace, trigger="zorbly"):
    db = open_db(workspace)
    cfg = TrainConfig.model_validate({"recipe": "style", "data": {"dataset_dir": str(workspace.home),
                                                                   "trigger_word": trigger}, "optim": {"steps": 2}})
    job_id = jobs.enqueue(db, "train", cfg, workspace=workspace)
    run_dir = workspace.run_dir(job_id)
    lora = run_dir / "lora.safetensors"
    save_file({"diffusion_model.a.lora_A.weight": torch.zeros(2, 2)}, str(lora))
    (run_dir / "samples").mkdir()
    (run_dir / "samples" / "step-2.mp4").write_bytes(b"\0\0\0 ftypisom")
    jobs.append_event(db, run_dir, JobEvent(job_id=job_id, kind="train", type="finished", step=2, path=str(lora)))
    return job_id, run_dir


def test_download_lora_with_its_trigger_word(client, workspace):
    job_id, run_dir = _finished_job(workspace, trigger="zörbly fox")
    response = client.get(f"/api/jobs/{job_id}/lora")
    assert response.status_code == 200
    assert response.content == (run_dir / "lora.safetensors").read_bytes()
    assert unquote(response.headers["x-loraport-trigger-word"]) == "zörbly fox"
    assert "attachment" in response.headers["content-disposition"]
    listed = client.get("/api/loras").json()
    assert listed[0]["job_id"] == job_id and listed[0]["trigger_word"] == "zörbly fox"


def test_sample_video_is_served_from_the_run(client, workspace):
    job_id, _ = _finished_job(workspace)
    response = client.get(f"/api/files/runs/{job_id}/samples/step-2.mp4")
    assert response.status_code == 200 and response.headers["content-type"] == "video/mp4"
    assert "sandbox" in response.headers["content-security-policy"]  # a served report can never run a script


def test_files_outside_the_workspace_or_its_served_folders_are_404(client, workspace, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("password")
    (workspace.home / "runs" / "link.txt").symlink_to(secret)
    for path in ("../secret.txt", "..%2Fsecret.txt", "runs/../../secret.txt", "runs/%2E%2E/%2E%2E/secret.txt",
                 "loraport.db", "runs/link.txt", "%2Fetc%2Fpasswd", "cache/x.json"):
        response = client.get(f"/api/files/{path}")
        assert response.status_code == 404, path
        assert "password" not in response.text and "error" in response.json()

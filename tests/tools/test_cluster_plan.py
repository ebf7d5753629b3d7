"""What a job asks of a Ray cluster and what a plan believes the cluster has (no cluster needed here)."""

import json

from core.settings import get_settings
from trainer.cluster.resources import Resources, fits_somewhere, ray_options

GPU_NODE = {"CPU": 32.0, "GPU": 2.0, "gpu_memory_gb": 160.0, "memory": 256 * 2**30}
CPU_NODE = {"CPU": 8.0, "memory": 32 * 2**30}


def test_gpu_memory_is_asked_per_gpu_only_where_a_node_declares_it():
    res = Resources(num_gpus=2, gpu_memory_gb=40, memory_gb=64)
    opts, notes = ray_options(res, {"CPU": 40, "GPU": 2, "gpu_memory_gb": 160})
    assert opts["resources"] == {"gpu_memory_gb": 80} and opts["memory"] == 64 * 2**30 and notes == []
    opts, notes = ray_options(res, {"CPU": 40, "GPU": 2})
    assert "resources" not in opts and "gpu_memory_gb" in notes[0]


def test_a_gpu_optional_job_runs_on_cpu_when_no_node_has_a_gpu():
    opts, notes = ray_options(Resources(num_gpus=1, gpu_optional=True), {"CPU": 8})
    assert opts["num_gpus"] == 0 and notes == ["no node has a GPU: running on CPU"]


def test_a_job_fits_only_where_one_node_has_all_it_asks():
    nodes = [{"Alive": True, "Resources": GPU_NODE}, {"Alive": True, "Resources": CPU_NODE}]
    assert fits_somewhere({"num_cpus": 1, "num_gpus": 2, "resources": {"gpu_memory_gb": 140}}, nodes)
    assert not fits_somewhere({"num_cpus": 1, "num_gpus": 2, "resources": {"gpu_memory_gb": 200}}, nodes)
    assert not fits_somewhere({"num_cpus": 1, "num_gpus": 1}, [{"Alive": False, "Resources": GPU_NODE}])


def test_plans_see_the_clusters_best_gpu_and_its_parallelism(workspace, monkeypatch):
    from tools.train.cluster import cluster_hardware, cluster_slots

    assert cluster_hardware(workspace) is None and cluster_slots(workspace) == 1  # no Ray configured
    monkeypatch.setenv("LORAPORT_RAY_ADDRESS", "auto")
    snapshot = {"nodes": [{"resources": CPU_NODE}, {"resources": GPU_NODE},
                          {"resources": {"CPU": 16.0, "GPU": 1.0, "gpu_memory_gb": 24.0}}]}
    (workspace.home / "cluster.json").write_text(json.dumps(snapshot))
    hw = cluster_hardware(workspace, get_settings())
    assert hw.device == "cuda" and hw.vram_gb == 80 and hw.gpu_count == 3 and "3 node(s)" in hw.name
    assert cluster_slots(workspace, get_settings()) == 3


def test_an_evaluation_asks_for_what_its_trainings_model_needs(workspace, tmp_path):
    from core.store import open_db
    from tests.trainer.train_utils import tiny_config
    from tools.train.cluster import job_resources
    from trainer import jobs

    db = open_db(workspace)
    cfg = tiny_config(tmp_path).model_dump(mode="json")
    real = jobs.enqueue(db, "train", {**cfg, "model": {"id": "ltx-2.3"}})
    tiny = jobs.enqueue(db, "train", cfg)
    for parent, gpus in ((real, 1), (tiny, 0)):
        ev = jobs.get_job(db, jobs.enqueue(db, "evaluate", {"lora_or_job": parent}, parent_job_id=parent))
        assert job_resources(ev).num_gpus == gpus


def test_a_caption_job_runs_beside_the_store_it_writes(workspace):
    from core.store import open_db
    from tools.train.cluster import job_resources
    from trainer import jobs

    db = open_db(workspace)
    job = jobs.get_job(db, jobs.enqueue(db, "caption", {"dataset_id": "d", "backend": "template"}))
    res = job_resources(job)
    assert res.beside_store and res.num_gpus == 0

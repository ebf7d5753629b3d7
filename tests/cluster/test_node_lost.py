"""A node lost mid-run: the job resumes from its last checkpoint on another node, nothing lost.

The head offers no CPU, so jobs run only on worker nodes: node B takes the job, is killed (its whole process
group: raylet and workers), node C joins, and Ray's task retry resumes the job there from the checkpoint in the
shared run directory. The job is the ``count`` kind of ``tests.trainer.fake_jobs`` (the queue's stand-in for
training: same runner contract, no model), so the test is about the cluster, not the model.
"""

import threading
from functools import partial

import pytest

pytest.importorskip("ray")

from core.store import open_db  # noqa: E402
from tests.cluster.ray_head import RayHead, joined  # noqa: E402
from tests.faults import wait_until  # noqa: E402
from tests.trainer import fake_jobs  # noqa: E402
from trainer import jobs  # noqa: E402
from trainer.worker import run_worker  # noqa: E402

_wait_for = partial(wait_until, timeout_s=180.0)  # a cluster job's patience here

@pytest.fixture(scope="module")
def ray_head():
    with joined(RayHead(num_cpus=0, env={"RAY_health_check_period_ms": "500", "RAY_health_check_failure_threshold": "4"})) as head:
        yield head


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_lost_node_s_job_resumes_on_another_node_from_its_checkpoint(ray_head, workspace):
    from trainer.cluster.executor import RayExecutor

    node_b = ray_head.add_node(num_cpus=1)
    db = open_db(workspace)
    job_id = jobs.enqueue(db, "count", {"steps": 60, "sleep_s": 0.1, "checkpoint_every": 5})
    stop = threading.Event()
    executor = RayExecutor(ray_head.address, {"count": fake_jobs.count_runner})
    thread = threading.Thread(target=run_worker, args=(workspace,),
                              kwargs={"poll_s": 0.1, "executor": executor, "stop": stop}, daemon=True)
    thread.start()
    try:
        assert _wait_for(lambda: any(e["type"] == "checkpoint" and e["step"] >= 10 for e in jobs.events(db, job_id)))
        node_b.kill()
        node_c = ray_head.add_node(num_cpus=1)
        assert _wait_for(lambda: jobs.get_job(db, job_id).is_terminal)
    finally:
        stop.set()
        thread.join(timeout=60)
    job = jobs.get_job(db, job_id)
    assert job.status == "finished" and job.steps == 60 and job.attempts == 2, job.error
    found = jobs.events(db, job_id)
    starts = [e for e in found if e["type"] == "started"]
    assert len(starts) == 2 and "was lost" in starts[1]["message"] and starts[1]["step"] >= 10
    resumed = job.result["resumed_at"]
    assert resumed == starts[1]["step"] and resumed % 5 == 0
    after = [e["step"] for e in found[found.index(starts[1]):] if e["type"] == "progress"]
    assert after == list(range(resumed + 1, 61))
    assert node_c.node_id

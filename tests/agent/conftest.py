"""Shared pieces for the agent tests: a brain scripted with a queue of replies, tiny configs, job rows."""

import pytest

from agent.brains import new_call_id
from core.store import open_db


class ScriptedBrain:
    """Answers each brain call with the next queued reply: ``("text", [(tool, args), ...])``."""

    name = "scripted"

    def __init__(self, replies):
        self.replies, self.seen = list(replies), []

    def respond(self, state, ctx, emit):
        self.seen.append(list(state["messages"]))
        text, calls = self.replies.pop(0) if self.replies else ("(done)", [])
        if text:
            emit({"type": "text", "text": text})
        return {"role": "assistant", "content": text,
                "tool_calls": [{"id": new_call_id(), "name": n, "args": a} for n, a in calls]}


def tiny_config(tmp_path, *, recipe="style", steps=100, rank=32):
    from trainer.config import Bucket, DataConfig, LoraConfig, OptimConfig, TrainConfig

    data_dir = tmp_path / "clips"
    data_dir.mkdir(exist_ok=True)
    return TrainConfig(recipe=recipe, lora=LoraConfig(rank=rank, alpha=rank), optim=OptimConfig(steps=steps),
                       data=DataConfig(dataset_dir=data_dir, buckets=[Bucket(width=64, height=64, frames=9)]))


def job_rows(workspace):
    return list(open_db(workspace)["jobs"].rows)


@pytest.fixture
def sidekick_factory(workspace):
    from agent.session import Sidekick

    def make(brain, thread_id="t1"):
        return Sidekick(workspace, thread_id, brain=brain, surface="cli")

    return make

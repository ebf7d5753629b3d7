"""Every job kind a worker runs, in one dict: kind -> ``runner(workspace, job, emit, should_stop) -> dict``.

trainer/ defines ``train`` and may not import tools/, so the surfaces that start a worker (``loraport worker``,
``loraport train`` in the foreground, the terminal chat) pass this dict to ``trainer.worker``. A new job kind is one
line here.
"""

from core.settings import get_settings
from core.workspace import Workspace
from tools.caption.jobs import run_caption_job
from tools.evaluate.jobs import run_evaluate_job
from tools.studio import run_studio_job
from trainer import worker
from trainer.jobs import JobRecord
from trainer.worker import Emit, Runner


def run_train_job(workspace: Workspace, job: JobRecord, emit: Emit, should_stop) -> dict:
    """trainer's ``train`` runner with this installation's CPU thread count (``settings.torch_threads``)."""
    return worker.run_train_job(workspace, job, emit, should_stop, threads=get_settings().torch_threads)


JOB_KINDS: dict[str, Runner] = {
    "train": run_train_job,
    "caption": run_caption_job,
    "evaluate": run_evaluate_job,
    "studio": run_studio_job,
}

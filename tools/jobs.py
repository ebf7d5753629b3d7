"""Every job kind a worker runs, in one dict: kind -> ``runner(workspace, job, emit, should_stop) -> dict``.

trainer/ defines ``train`` and may not import tools/, so the surfaces that start a worker (``loraport worker``,
``loraport train`` in the foreground, the terminal chat) pass this dict to ``trainer.worker``. A new job kind is one
line here.
"""

from tools.caption.jobs import run_caption_job
from tools.evaluate.jobs import run_evaluate_job
from trainer.worker import JOB_RUNNERS, Runner

JOB_KINDS: dict[str, Runner] = {
    **JOB_RUNNERS,
    "caption": run_caption_job,
    "evaluate": run_evaluate_job,
}

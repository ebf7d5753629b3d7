"""`loraport train`: queue a training job and, unless --detach, run it here with a progress bar."""

import datetime
import sys
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from cli.common import JsonFlag, print_json, workspace
from core.workspace import Workspace

if TYPE_CHECKING:  # every command module is imported at start: keep `loraport inspect` from loading the job store
    from trainer.jobs import JobRecord


class ProgressBar:
    """Turns job events into a tqdm bar (step, loss, it/s, ETA) and one line per milestone, on stderr."""

    def __init__(self, job_id: str):
        self.job_id = job_id
        self.bar = None

    def __call__(self, event: dict) -> None:
        from tqdm import tqdm

        kind, step = event["type"], event.get("step")
        if kind == "progress" and step is not None and event.get("total"):
            if self.bar is None:  # speed and ETA come from the engine: steady-state steps only, not warm-up
                self.bar = tqdm(total=event["total"], initial=max(step - 1, 0), unit="step", desc=self.job_id,
                                dynamic_ncols=True, file=sys.stderr,
                                bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
            self.bar.set_postfix_str(_stats(event), refresh=False)
            self.bar.update(step - self.bar.n)
        elif kind in ("started", "checkpoint", "sample"):
            self._say(f"{kind}: {event.get('message') or ''} {event.get('path') or ''}".rstrip())

    def _say(self, text: str) -> None:
        from tqdm import tqdm

        (self.bar.write if self.bar is not None else tqdm.write)(text, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _stats(event: dict) -> str:
    """`loss 0.1234, 14.2 it/s, ETA 0:01:10`; speed and ETA stay blank until the engine has measured them."""
    parts = []
    if event.get("loss") is not None:
        parts.append(f"loss {event['loss']:.4f}")
    if event.get("it_per_s"):
        parts.append(f"{event['it_per_s']:.2f} it/s")
    if event.get("eta_s") is not None:
        parts.append(f"ETA {datetime.timedelta(seconds=round(event['eta_s']))}")
    return ", ".join(parts)


def run_foreground(workspace: Workspace, job_id: str, *, as_json: bool) -> None:
    """Run (or follow) a job here until it ends; Ctrl+C stops it at its next step, resumable later."""
    from tools.jobs import JOB_KINDS
    from trainer.worker import run_job, stop_on_signals

    stop = threading.Event()
    restore = stop_on_signals(stop)
    bar = ProgressBar(job_id)
    try:
        record = _on_cluster(workspace, job_id, bar, stop)  # None without LORAPORT_RAY_ADDRESS
        if record is None:
            record = run_job(workspace, job_id, on_event=bar, stop=stop,
                             on_wait=lambda text: typer.echo(text, err=True), runners=JOB_KINDS)
    finally:
        bar.close()
        restore()
    report(record, as_json=as_json)
    if record.status != "finished":
        raise typer.Exit(1)


def _on_cluster(workspace: Workspace, job_id: str, bar, stop: threading.Event):
    """With a Ray cluster configured the job runs there: relayed from here, or followed when a worker already
    dispatches to it (`loraport serve`); None without a cluster."""
    from core.settings import get_settings
    from core.store import open_db
    from trainer.jobs import follow, get_job
    from trainer.worker import live_workers, run_worker

    if not get_settings().ray_address:
        return None
    db = open_db(workspace)
    if live_workers(workspace):
        for event in follow(db, job_id):
            bar(event)
    else:
        from tools.jobs import JOB_KINDS
        from tools.train.cluster import cluster_executor

        run_worker(workspace, once=True, poll_s=0.2, stop=stop, on_event=bar, runners=JOB_KINDS,
                   executor=cluster_executor(JOB_KINDS, job_id=job_id))
    return get_job(db, job_id)


def report(record: "JobRecord", *, as_json: bool) -> None:
    if as_json:
        print_json(record)
        return
    line = f"job {record.job_id}: {record.status}"
    if record.step is not None and record.total:
        line += f" at step {record.step}/{record.total}"
    if record.final_loss is not None:
        line += f", final loss {record.final_loss:.4f}"
    typer.echo(line)
    if record.lora_path:
        typer.echo(f"LoRA: {record.lora_path}")
        from trainer.reference import ic_lora_usage

        if record.status == "finished" and (usage := ic_lora_usage(record.config, record.lora_path)):
            typer.echo(usage)
    if record.error:
        typer.echo(f"error: {record.error}")
    if record.status in ("interrupted", "cancelled", "failed"):
        typer.echo(f"`loraport jobs resume {record.job_id}` continues from its latest checkpoint.")
    elif record.status == "queued":
        typer.echo(f"run dir: {record.run_dir}")


def register(app: typer.Typer) -> None:
    @app.command()
    def train(
        recipe: Annotated[str, typer.Option(help="Recipe name (`loraport recipes`), or `none` for the defaults.")],
        dataset: Annotated[str, typer.Option(help="Folder of clips, or a dataset id of this workspace.")],
        model: Annotated[str | None, typer.Option(help="Base model id (default: settings, tiny-ltx-2.3).")] = None,
        steps: Annotated[int | None, typer.Option(help="Training steps.")] = None,
        rank: Annotated[int | None, typer.Option(help="LoRA rank (alpha follows it).")] = None,
        lr: Annotated[float | None, typer.Option(help="Learning rate.")] = None,
        trigger: Annotated[str | None, typer.Option(help="Trigger word put in front of every caption.")] = None,
        checkpoint_every: Annotated[int | None, typer.Option(help="Save a resumable checkpoint every N steps.")] = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="Override any setting, as for `plan`: "
                                                       "targets=to_q,to_k,to_v,to_out.0,ff.net.0.proj,ff.net.2, "
                                                       "resolution=768x512, frames=49, quantize_base=int8, "
                                                       "offload=blocks, steps=+20%.")] = None,
        detach: Annotated[bool, typer.Option("--detach", help="Only queue it; `loraport worker` runs it.")] = False,
        json_: JsonFlag = False,
    ) -> None:
        """Train a LoRA: queue the job and run it here with a progress bar (or --detach for the worker)."""
        from tools.plan.overrides import parse_override_args
        from tools.train.config import build_config
        from tools.train.launch import job_status, launch

        ws = workspace()
        config = build_config(recipe, dataset, workspace=ws, model=model, steps=steps, rank=rank, lr=lr,
                              trigger=trigger, checkpoint_every=checkpoint_every, sets=parse_override_args(set_))
        ref = launch(config, workspace=ws)
        if detach:
            if not ref.worker_running:
                typer.echo("no worker is running: start one with `loraport worker`.", err=True)
            report(job_status(ref.job_id, workspace=ws), as_json=json_)
            return
        run_foreground(ws, ref.job_id, as_json=json_)


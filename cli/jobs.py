"""`loraport jobs list | show | cancel | resume` and `loraport worker`."""

from typing import Annotated

import typer

from cli.common import JsonFlag, print_json, workspace
from cli.train import report, run_foreground

JobId = Annotated[str, typer.Argument(help="Job id, as `loraport jobs list` shows it.")]


def _list(status: str | None, kind: str | None, limit: int, as_json: bool) -> None:
    from tools.train.launch import list_jobs

    records = list_jobs(status=status, kind=kind, limit=limit, workspace=workspace())
    if as_json:
        print_json([r.model_dump(mode="json") for r in records])
        return
    if not records:
        typer.echo("no jobs yet: `loraport train --help` shows how to start one.")
    for r in records:
        progress = f"{r.step or 0}/{r.total}" if r.total else "-"
        loss = f"{r.loss:.4f}" if r.loss is not None else "-"
        typer.echo(f"{r.job_id:34} {r.kind:9} {r.status:11} {progress:>11} loss {loss:>8}  {r.created_at}")
    from trainer.worker import live_workers

    workers = live_workers(workspace())
    typer.echo("workers: " + (", ".join(f"pid {w['pid']} on {w['device']}" for w in workers)
                              or "none running (queued jobs wait for `loraport worker`)"))


def _follow(job_id: str):
    """Stream a job's events into the progress bar until its terminal event (Ctrl+C stops watching, not it)."""
    from cli.train import ProgressBar
    from core.store import open_db
    from trainer.jobs import events, follow, get_job

    db = open_db(workspace())
    bar = ProgressBar(job_id)
    last = max((e["id"] for e in events(db, job_id)), default=0)  # from now on: the bar shows live progress
    try:
        for event in follow(db, job_id, after_id=last):
            bar(event)
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    return get_job(db, job_id)


def register(app: typer.Typer) -> None:
    jobs_app = typer.Typer(help="List, inspect, cancel and resume jobs.", no_args_is_help=True)
    app.add_typer(jobs_app, name="jobs")

    @jobs_app.command("list")
    def list_(
        status: Annotated[str | None, typer.Option(help="Only this status: queued, running, finished, ...")] = None,
        kind: Annotated[str | None, typer.Option(help="Only this kind: train, caption, evaluate, ...")] = None,
        limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
        json_: JsonFlag = False,
    ) -> None:
        """List jobs, newest first."""
        _list(status, kind, limit, json_)

    @jobs_app.command()
    def show(
        job_id: JobId,
        with_events: Annotated[bool, typer.Option("--events", help="Include the job's events.")] = False,
        follow: Annotated[bool, typer.Option("--follow", help="Watch it with a progress bar until it ends.")] = False,
        json_: JsonFlag = False,
    ) -> None:
        """Show one job: status, progress, loss, LoRA path, error."""
        from core.store import open_db
        from tools.train.launch import job_status
        from trainer.jobs import events

        record = job_status(job_id, workspace=workspace())
        if follow and not record.is_terminal:
            record = _follow(job_id)
        found = events(open_db(workspace()), job_id) if with_events else []
        if json_:
            print_json({**record.model_dump(mode="json"), **({"events": found} if with_events else {})})
            return
        report(record, as_json=False)
        for e in found:
            step = f"step {e['step']}" if e.get("step") is not None else ""
            loss = f"loss {e['loss']:.4f}" if e.get("loss") is not None else ""
            typer.echo("  " + " ".join(x for x in (f"#{e['id']}", f"{e['type']:10}", step, loss, e.get("message"),
                                                    e.get("path")) if x))

    @jobs_app.command()
    def cancel(job_id: JobId, json_: JsonFlag = False) -> None:
        """Cancel a job: a queued one at once, a running one at its next step (checkpoints are kept)."""
        from tools.train.launch import cancel_job

        record = cancel_job(job_id, workspace=workspace())
        if json_:
            print_json(record)
        elif record.status == "cancelled":
            typer.echo(f"job {job_id}: cancelled")
        else:
            typer.echo(f"job {job_id}: cancel requested; it stops at its next step and keeps its checkpoints")

    @jobs_app.command()
    def resume(
        job_id: JobId,
        detach: Annotated[bool, typer.Option("--detach", help="Only queue it; `loraport worker` runs it.")] = False,
        json_: JsonFlag = False,
    ) -> None:
        """Resume a cancelled, failed or interrupted job from its latest checkpoint."""
        from tools.train.launch import job_status, resume_job

        ws = workspace()
        ref = resume_job(job_id, workspace=ws)
        if detach:
            if not ref.worker_running:
                typer.echo("no worker is running: start one with `loraport worker`.", err=True)
            report(job_status(job_id, workspace=ws), as_json=json_)
            return
        run_foreground(ws, job_id, as_json=json_)

    @app.command()
    def worker(
        once: Annotated[bool, typer.Option("--once", help="Run the jobs waiting now, then exit.")] = False,
        device: Annotated[str | None, typer.Option(help="Device to run on (default: cuda:0, else cpu).")] = None,
        poll: Annotated[float, typer.Option(help="Seconds between looks at the queue.")] = 0.5,
        parent_pid: Annotated[int | None, typer.Option(
            hidden=True, help="Stop when this process (the server that started the worker) is gone.")] = None,
    ) -> None:
        """Run queued jobs one at a time (resuming interrupted ones); Ctrl+C stops at the next step.

        One worker per device per workspace: a second one exits at once, saying who holds the device."""
        from tools.jobs import JOB_KINDS
        from tools.train.cluster import cluster_executor
        from trainer.worker import run_worker

        ws = workspace()
        executor = cluster_executor(JOB_KINDS)  # None unless LORAPORT_RAY_ADDRESS is set
        where = f" on the Ray cluster at {executor.address}" if executor else ""
        typer.echo(f"worker: running {', '.join(sorted(JOB_KINDS))} jobs from {ws.home}{where}", err=True)
        ran = run_worker(ws, once=once, poll_s=poll, device=device, runners=JOB_KINDS,
                         parent_pid=parent_pid, executor=executor)
        typer.echo(f"worker: ran {ran} job(s)", err=True)

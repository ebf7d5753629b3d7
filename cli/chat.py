"""`loraport chat`: the sidekick in the terminal. Same graph as the web and bots; approvals are a y/n prompt.

`--json` is the scripting form: one user message per stdin line (`/approve` or `/reject` answers the pending
approval), every event one JSON object per line on stdout.
"""

import json
import sys
import threading
from collections.abc import Iterable
from typing import Annotated, Any

import typer

from cli.common import JsonFlag, settings, workspace


def register(app: typer.Typer) -> None:
    @app.command()
    def chat(
        thread: Annotated[str | None, typer.Option("--thread", help="Continue this conversation (its id).")] = None,
        json_out: JsonFlag = False,
        brain: Annotated[str | None, typer.Option(help="guided, anthropic or openai (default: LORAPORT_LLM_PROVIDER, "
                                                       "else anthropic when ANTHROPIC_API_KEY is set).")] = None,
        run_jobs: Annotated[bool, typer.Option(help="Run launched jobs here and show their progress (else "
                                                    "`loraport worker` runs them).")] = True,
    ) -> None:
        """Talk to the sidekick: inspect, plan, caption, train and evaluate through a conversation."""
        from agent.session import Sidekick

        kick = Sidekick(workspace(), thread_id=thread, brain=brain, settings=settings(), surface="cli")
        surface = JsonSurface(kick, run_jobs) if json_out else TerminalSurface(kick, run_jobs)
        surface.loop()


class JsonSurface:
    def __init__(self, kick, run_jobs: bool):
        self.kick, self.run_jobs = kick, run_jobs

    def loop(self) -> None:
        # stdout carries only agent events; the thread id (to continue with --thread) goes to stderr.
        typer.echo(f"thread: {self.kick.thread_id}", err=True)
        for line in sys.stdin:
            text = line.strip()
            if not text:
                continue
            pending = self.kick.pending_approval()
            if text in ("/approve", "/reject"):
                if pending is None:
                    self.emit({"type": "error", "message": "There is nothing waiting for approval."})
                    self.emit({"type": "turn_end"})
                    continue
                events = self.kick.approve(pending.id) if text == "/approve" else self.kick.reject(pending.id)
            else:
                events = self.kick.send(text)
            self.drain(events)

    def drain(self, events: Iterable[Any]) -> None:
        jobs = set(self.kick.job_ids())
        for event in events:
            self.emit(event.to_json())
        for job_id in self.kick.job_ids():
            if job_id not in jobs and self.run_jobs:
                run_and_watch(self.kick, job_id, lambda e: self.emit({"type": "job_event", "event": e}))

    @staticmethod
    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj, default=str) + "\n")
        sys.stdout.flush()


class TerminalSurface:
    def __init__(self, kick, run_jobs: bool):
        self.kick, self.run_jobs = kick, run_jobs

    def loop(self) -> None:
        typer.echo(f"loraport sidekick (thread {self.kick.thread_id}; Ctrl-D to leave, 'help' for what I can do)")
        if not self.kick.history():
            typer.echo("sidekick> Hi! I move a LoRA from LTX-2 to LTX-2.3. Give me the path of your old LoRA "
                       "(.safetensors), or say 'help'.")
        while True:
            try:
                text = input("you> ").strip()
            except EOFError:
                typer.echo(f"\nbye: continue later with `loraport chat --thread {self.kick.thread_id}`")
                return
            if text:
                self.show(self.kick.send(text))

    def show(self, events: Iterable[Any]) -> None:
        jobs, writing = set(self.kick.job_ids()), False
        for event in events:
            if event.type == "text":
                if not writing:
                    typer.echo("sidekick> ", nl=False)
                typer.echo(event.text, nl=False)
                writing = True
                continue
            if writing:
                typer.echo("")
                writing = False
            if event.type == "tool_start":
                typer.secho(f"  [{event.tool}] ...", dim=True)
            elif event.type == "tool_end" and not event.ok:
                typer.secho(f"  [{event.tool}] {event.result.get('error')}", fg="yellow")
            elif event.type == "error":
                typer.secho(f"error: {event.message}", fg="red")
            elif event.type == "approval_request":
                typer.secho(f"\nApproval needed: {event.summary}", bold=True)
                answer = typer.confirm("Go ahead?", default=False)
                self.show(self.kick.approve(event.id) if answer else self.kick.reject(event.id))
                return
        for job_id in self.kick.job_ids():
            if job_id not in jobs and self.run_jobs:
                self.progress(job_id)

    def progress(self, job_id: str) -> None:
        from tqdm import tqdm

        bar = tqdm(desc=job_id, unit="step", dynamic_ncols=True)

        def on_event(event: dict[str, Any]) -> None:
            if event.get("total"):
                bar.total = event["total"]
            if event.get("step") is not None:
                bar.n = event["step"]
            if event.get("loss") is not None:
                bar.set_postfix(loss=f"{event['loss']:.4f}")
            bar.refresh()
            if event.get("type") in ("finished", "failed", "cancelled"):
                bar.write(f"{job_id}: {event['type']}" + (f" ({event['message']})" if event.get("message") else ""))

        try:
            run_and_watch(self.kick, job_id, on_event)
        finally:
            bar.close()


def run_and_watch(kick, job_id: str, on_event) -> None:
    """Run the job in this process (or follow the worker that claimed it); Ctrl-C stops it at its next step."""
    from tools.jobs import JOB_KINDS
    from trainer.worker import run_job

    stop = threading.Event()
    try:
        run_job(kick.workspace, job_id, on_event=on_event, stop=stop, runners=JOB_KINDS)
    except KeyboardInterrupt:
        stop.set()
        typer.echo("stopped watching; the job keeps its checkpoints (`loraport jobs resume` continues it)")

"""`loraport migrate FOLDER --datasets DIR`: every LTX-2 LoRA of a folder retrained on the new model, one approval."""

import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json, workspace

FAILED = ("failed", "cancelled", "eval failed", "eval cancelled")


def render_plan(plan) -> str:
    from tools.plan.estimate import human_duration

    lines = [f"{'LoRA':28} {'action':8} {'clips (matched by)':30} {'recipe':10} {'trigger':14} {'steps':>6} time"]
    for i in plan.items:
        if i.action == "skip":
            lines.append(f"{i.name[:28]:28} skip     {i.reason}")
            continue
        clips = f"{Path(i.clips).name} ({i.matched_by})"
        lines.append(f"{i.name[:28]:28} migrate  {clips[:30]:30} {i.recipe or '-':10} {(i.trigger or '-')[:14]:14} "
                     f"{i.steps or 0:>6} {human_duration(i.seconds)}")
        if i.note:
            lines.append(f"{'':28}   note: {i.note}")
    lines.append(plan.summary)
    return "\n".join(lines)


def render_table(report) -> str:
    lines = [f"{'verdict':14} {'LoRA':28} {'trigger':14} what to retry / why skipped"]
    for r in report.rows:
        lines.append(f"{r.verdict[:14]:14} {r.name[:28]:28} {(r.trigger or '-')[:14]:14} {r.retry}")
        if r.lora_path:
            lines.append(f"{'':14} {r.lora_path}")
    lines.append(report.summary)
    return "\n".join(lines)


def _parse_matches(pairs: list[str] | None) -> dict[str, str]:
    from core.errors import LoraportError

    out = {}
    for pair in pairs or []:
        name, sep, folder = pair.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise LoraportError(f"--match {pair!r}: write NAME=FOLDER (the LoRA's file name without .safetensors).")
        out[name.strip()] = folder.strip()
    return out


def _ask_once(plan) -> dict[str, str]:
    """One question for every LoRA whose clips were not found: NAME=FOLDER pairs, or Enter to skip them."""
    typer.echo(f"No clip folder found for: {', '.join(plan.unmatched)}.", err=True)
    answer = typer.prompt("Their clip folders as NAME=FOLDER, separated by commas (Enter skips them)",
                          default="", show_default=False, err=True)
    return _parse_matches([p for p in answer.split(",") if p.strip()])


class _Progress:
    """One line per LoRA at each milestone (started, every tenth of the steps, finished), on stderr."""

    def __init__(self, names: dict[str, str], batch_id: str, quiet: bool):
        self.names, self.batch_id, self.quiet = names, batch_id, quiet
        self.lock = threading.Lock()

    def __call__(self, event: dict) -> None:
        from tools.migrate import advance

        job_id, kind, step, total = event["job_id"], event["kind"], event.get("step"), event.get("total")
        if event["type"] in ("finished", "failed", "cancelled") and kind == "train":
            with self.lock:
                advance(self.batch_id, workspace=workspace())  # a finished training's evaluation is queued now
        if job_id not in self.names:  # an evaluation queued since: its row names it
            from tools.migrate import load_batch

            self.names.update({r["eval_job"]: r["item"]["name"]
                               for r in load_batch(self.batch_id, workspace=workspace())["rows"]
                               if r["eval_job"]})
        name = self.names.get(job_id)
        if self.quiet or name is None:
            return
        if event["type"] == "progress" and step and total and step % max(1, total // 10) and step != total:
            return
        if event["type"] == "progress" and not (step and total):
            return
        what = f"step {step}/{total}" if event["type"] == "progress" else event["type"]
        loss = f" loss {event['loss']:.4f}" if event.get("loss") is not None else ""
        print(f"[{name}] {kind} {what}{loss}", file=sys.stderr, flush=True)


def _run_here(workspace, batch_id: str, progress: _Progress) -> None:
    """Run the batch's jobs in this process (on the Ray cluster when configured) until every row has ended."""
    from tools.jobs import JOB_KINDS
    from tools.migrate import advance
    from tools.train.cluster import cluster_executor
    from trainer.worker import live_workers, run_worker

    while not advance(batch_id, workspace=workspace).done:
        if live_workers(workspace):  # `loraport serve` / `loraport worker` runs them: only follow
            threading.Event().wait(1.0)
            continue
        run_worker(workspace, once=True, poll_s=0.2, runners=JOB_KINDS, executor=cluster_executor(JOB_KINDS),
                   on_event=progress)


def register(app: typer.Typer) -> None:
    @app.command()
    def migrate(
        folder: Annotated[Path, typer.Argument(help="Folder of old LoRA files (.safetensors).")],
        datasets: Annotated[Path, typer.Option(help="Folder whose sub-folders hold each LoRA's clips, named like "
                                               "the LoRA files.")],
        model: Annotated[str | None, typer.Option(help="Model to retrain on (default: settings.default_model).")] = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="Override for every plan: steps=+20%, rank=16, "
                                                       "lr=2e-4 ...")] = None,
        match: Annotated[list[str] | None, typer.Option("--match", help="NAME=FOLDER for a LoRA whose clips are "
                                                        "not found by name or metadata.")] = None,
        yes: Annotated[bool, typer.Option("--yes", help="Approve the batch without asking.")] = False,
        detach: Annotated[bool, typer.Option("--detach", help="Only queue the batch; the worker runs it.")] = False,
        json_: JsonFlag = False,
    ) -> None:
        """Migrate every LTX-2 LoRA in FOLDER: match clips, plan each, one approval, train + evaluate, a table."""
        from tools.migrate import batch_report, launch_migration, load_batch, plan_migration
        from tools.plan.overrides import parse_override_args

        overrides, matches = parse_override_args(set_), _parse_matches(match)
        plan = plan_migration(folder, datasets, model=model, overrides=overrides, matches=matches,
                              workspace=workspace())
        if plan.unmatched and not yes and not json_ and sys.stdin.isatty():
            matches.update(_ask_once(plan))
            plan = plan_migration(folder, datasets, model=model, overrides=overrides, matches=matches,
                                  workspace=workspace())
        if not json_:
            typer.echo(render_plan(plan))
        if not plan.to_migrate:
            if json_:
                print_json({"plan": plan.model_dump(mode="json"), "batch": None})
            raise typer.Exit(1)
        if not yes:
            if json_ or not sys.stdin.isatty():
                if json_:
                    print_json({"plan": plan.model_dump(mode="json"), "batch": None})
                typer.echo("nothing launched: add --yes to approve the batch.", err=True)
                raise typer.Exit(1)
            if not typer.confirm("Launch this batch?", default=False):
                raise typer.Exit(1)
        batch_id = launch_migration(plan, workspace=workspace())
        typer.echo(f"batch {batch_id}: {len(plan.to_migrate)} training(s) queued", err=True)
        if not detach:
            rows = load_batch(batch_id, workspace=workspace())["rows"]
            names = {r["train_job"]: r["item"]["name"] for r in rows if r["train_job"]}
            _run_here(workspace(), batch_id, _Progress(names, batch_id, quiet=json_))
        report = batch_report(batch_id, workspace=workspace())
        if json_:
            print_json({"plan": plan.model_dump(mode="json"), "batch": report.model_dump(mode="json")})
        else:
            typer.echo(render_table(report))
        if report.done and any(r.verdict in FAILED for r in report.rows):
            raise typer.Exit(1)  # scripts see that a LoRA needs attention; the table says which

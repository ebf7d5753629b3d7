"""`loraport plan` and `loraport recipes`: the resolved training config, every value with its source and reason."""

import textwrap
from pathlib import Path
from typing import Annotated

import typer

from cli.common import JsonFlag, print_json, workspace


def register(app: typer.Typer) -> None:
    @app.command()
    def plan(
        recipe: Annotated[str, typer.Option(help="Recipe: character, style, motion, face, object.")],
        dataset: Annotated[str, typer.Option(help="Dataset folder or imported dataset id.")],
        from_lora: Annotated[Path | None, typer.Option("--from-lora", help="Old LoRA to carry settings over from.")] = None,
        set_: Annotated[list[str] | None, typer.Option("--set", help="Override: rank=16, steps=+20%, lr=2e-4, "
                                                       "resolution=768x512, frames=49, trigger=zorbly.")] = None,
        model: Annotated[str | None, typer.Option(help="Model id (default: settings.default_model).")] = None,
        trigger: Annotated[str | None, typer.Option("--trigger", help="Trigger phrase, one or more words: "
                                                    "--trigger \"zorbly style\" (default: the old LoRA's).")] = None,
        vram_gb: Annotated[float | None, typer.Option("--vram-gb", min=1, help="Plan for a GPU with this many GB "
                                                      "(another machine; no GPU or weights needed here).")] = None,
        calibrate: Annotated[bool, typer.Option("--calibrate", help="Measure a few real steps for the time "
                                                "estimate (always done for the tiny model).")] = False,
        json_out: JsonFlag = False,
    ) -> None:
        """Plan a training run: every setting with its source and reason, plus time and disk estimates."""
        from tools.plan.overrides import parse_override_args
        from tools.plan.service import plan as make_plan

        old = None
        if from_lora is not None:
            from tools.inspect import inspect_lora

            old = inspect_lora(from_lora, target=model or "ltx-2.3")
        overrides = parse_override_args(set_)
        if trigger is not None:
            overrides["trigger"] = trigger
        result = make_plan(recipe, dataset, old_lora=old, overrides=overrides, model_id=model,
                           calibrate=True if calibrate else None, vram_gb=vram_gb, workspace=workspace())
        if json_out:
            print_json(result)
        else:
            typer.echo(render_plan(result))

    @app.command()
    def recipes(
        name: Annotated[str | None, typer.Argument(help="Show one recipe in full.")] = None,
        json_out: JsonFlag = False,
    ) -> None:
        """List the training recipes, or show one with every value's reason and source."""
        from tools.recipes import list_recipes, load_recipe

        if name:
            r = load_recipe(name)
            if json_out:
                print_json(r)
            else:
                typer.echo(f"{r.title}\n{r.purpose}\n")
                for key, c in r.settings.items().items():
                    typer.echo(f"{key} = {c.value}\n{_wrap(c.why + ' ' + c.change)}\n    source: {c.source}")
            return
        rows = list_recipes()
        if json_out:
            print_json([r.model_dump() for r in rows])
        else:
            for r in rows:
                typer.echo(f"{r.name:10} {r.title} (rank {r.rank}, {r.strategy})\n{_wrap(r.purpose)}")


def render_plan(p) -> str:
    from tools.plan.estimate import human_duration, human_range
    from tools.plan.glossary import SETTINGS

    e = p.estimate
    lines = [f"Plan: {p.recipe_title} on {p.model_id} ({p.tier}); dataset {p.dataset.path}: "
             f"{p.dataset.n_videos} clip(s), {p.dataset.n_images} image(s)", _wrap(p.tier_reason), ""]
    width = max(len(n) for n in p.settings)
    for name, s in p.settings.items():
        value = ", ".join(map(str, s.value)) if isinstance(s.value, list) else str(s.value)
        if len(value) > 80:  # a long text (the negative prompt) in full lives in --json and the run's config
            value = f"{value[:72]}... ({len(value)} characters)"
        what = SETTINGS[name].what if name in SETTINGS else ""
        lines += [f"{name:<{width}}  {value}   [{s.source}]", _wrap(f"{what} {s.explanation}", indent=width + 2)]
    lines += ["", f"Estimate ({e.basis}): {human_range(e.seconds_low, e.seconds_high)} for "
              f"{e.steps} steps ({e.per_step_s:.3g} s/step, preprocessing {human_duration(e.preprocess_s)}, "
              f"samples {human_duration(e.sampling_s)})", _wrap(e.note),
              f"Disk: cache {e.disk_mb.cache:.0f} MB, checkpoints {e.disk_mb.checkpoints:.0f} MB, "
              f"LoRA {e.disk_mb.lora:.1f} MB"]
    if p.memory is not None and p.tier != "demo":
        m = p.memory
        lines += [f"Memory: predicted peak {m.peak_gib:.1f} GiB of {m.vram_gib or 0:g} GB "
                  f"({'fits' if m.fits else 'does NOT fit'}); " + ", ".join(
                      f"{k} {ph.peak_gib:.1f}" for k, ph in m.phases.items()), _wrap(" ".join(m.reasons))]
    if p.model_id != p.requested_model or p.tier == "demo":
        lines.append(f"A real LTX-2.3 run would use buckets {', '.join(p.real_buckets)}.")
    for title, items in (("Warnings", p.warnings), ("Recommendations", p.recommendations),
                         ("What differs for this model", p.model_notes)):
        if items:
            lines += ["", f"{title}:"] + [_wrap(f"- {w}") for w in items]
    if not p.ready:
        lines += ["", "Not ready: the dataset is below the recipe's minimum (see the recommendations)."]
    return "\n".join(lines)


def _wrap(text: str, indent: int = 4) -> str:
    return textwrap.fill(text, width=110, initial_indent=" " * indent, subsequent_indent=" " * indent)

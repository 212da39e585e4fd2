"""`tabrl generate --scene ID "PROMPT"`: reward approaches from plain language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.panel import Panel
from rich.syntax import Syntax

from tabrl.cli._common import console, print_json

if TYPE_CHECKING:
    from tabrl.authoring import Approach

PROVIDER_HELP = "offline | anthropic | openai | gemini | deepseek | openai-compatible (default: offline unless configured)"


def register(app: typer.Typer) -> None:
    """Add the `generate` command to the root app."""
    app.command("generate")(generate_cmd)


def generate_cmd(
    prompt: str = typer.Argument(
        None, help='The behaviour in plain language, e.g. "walk like you\'re on the moon".'
    ),
    scene: str = typer.Option(None, "--scene", help="Scene id (see `tabrl scenes list`)."),
    provider: str | None = typer.Option(None, "--provider", help=PROVIDER_HELP),
    model: str | None = typer.Option(None, "--model", help="Model name (default: the provider's default)."),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Server URL, e.g. http://127.0.0.1:11434/v1."
    ),
    n: int = typer.Option(3, "--n", min=1, max=6, help="How many distinct approaches."),
    budget: str = typer.Option(
        "minutes",
        "--budget",
        help="instant (command programs on a joystick base policy) | minutes (fine-tune a base policy, "
        "or a short run) | unlimited (train from scratch).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Also write each approach to DIR/<n>-<name>.py (reward or command program)."
    ),
    repair_rounds: int = typer.Option(2, "--repair-rounds", min=0, max=5, help="Compiler-feedback rounds."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait for the model per call."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    list_providers: bool = typer.Option(False, "--list-providers", help="List providers (no keys) and exit."),
) -> None:
    """Write N candidate reward functions for a task, each checked by the reward compiler."""
    from tabrl.authoring import generate_approaches
    from tabrl.authoring import list_providers as providers

    if list_providers:
        rows = providers()
        if as_json:
            print_json(rows)
        else:
            for p in rows:
                mark = "[green]configured[/]" if p["configured"] else "[dim]not configured[/]"
                sel = " [bold](default)[/]" if p["selected"] else ""
                console.print(f"{p['name']:18} {mark}  default model {p['default_model']}{sel}")
        return
    if not scene or not prompt:
        from tabrl.cli._common import fail

        raise fail('usage: tabrl generate --scene SCENE_ID "PROMPT" (see `tabrl scenes list`)', code=2)
    with console.status("writing reward approaches...") if not as_json else _null():
        result = generate_approaches(
            scene,
            prompt,
            provider=provider,
            model=model,
            base_url=base_url,
            n=n,
            repair_rounds=repair_rounds,
            timeout_s=timeout,
            budget=budget,
        )
    from tabrl.training.levels import plan_steps

    plan_steps(result.scene, result.approaches, budget)
    if out is not None:
        _write(out, result.approaches, quiet=as_json)
    if as_json:
        print_json(result.to_dict())
        return
    console.print(
        f"[bold]{len(result.approaches)} approaches[/] for {result.scene} from {result.provider} "
        f"({result.model}) in {result.latency_s:.2f}s"
    )
    for i, a in enumerate(result.approaches, 1):
        status = "[green]valid[/]" if a.valid else "[red]invalid[/]"
        if a.level == "command":
            body = [a.description, f"level command (plays on {a.base_id} at once): {a.why}"]
        else:
            est = f", about {a.estimate_s / 60:.1f} min here" if a.estimate_s else ""
            body = [
                a.description,
                f"level {a.level}, {a.steps:,} steps{est}, terms: {', '.join(a.terms) or '-'}",
                a.why,
            ]
        if a.errors:
            body += [
                f"[red]line {e['line']}: {e['message']}[/]" if e.get("line") else f"[red]{e['message']}[/]"
                for e in a.errors
            ]
        console.print(Panel("\n".join(body), title=f"{i}. {a.name} ({status})", title_align="left"))
        console.print(
            Syntax(a.commands if a.level == "command" else a.reward_code, "python", line_numbers=True)
        )


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _write(out: Path, approaches: list[Approach], *, quiet: bool = False) -> None:
    """Each approach as `<n>-<slug>.py`: play a command program with `tabrl base play`, train a reward
    with `tabrl train --reward`."""
    out.mkdir(parents=True, exist_ok=True)
    for i, a in enumerate(approaches, 1):
        slug = re.sub(r"[^a-z0-9]+", "-", a.name.lower()).strip("-")[:40] or "approach"
        path = out / f"{i}-{slug}.py"
        header = f"# {a.name} -- level {a.level}: {a.why}\n"
        path.write_text(header + (a.commands if a.level == "command" else a.reward_code), encoding="utf-8")
        if not quiet:  # with --json, stdout holds the JSON document only
            console.print(f"wrote {path}")

"""`tabrl models list` and `tabrl render`: the model library and its videos from the command line."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from tabrl.cli._common import console, print_json

models_app = typer.Typer(
    help="The model library (<TABRL_HOME>/policies): what the web UI lists.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add `models` and `render` to the root app."""
    app.add_typer(models_app, name="models")
    app.command("render")(render_cmd)


@models_app.command("list")
def list_cmd(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Trained policies, newest first: scene, level, steps, evaluation reward, success check, folder."""
    from tabrl.jobs.tasks import policies_dir
    from tabrl.policies import read_manifest

    rows = []
    for path in policies_dir().iterdir():
        if not (path / "manifest.json").is_file():
            continue
        m = read_manifest(path)
        verdict = (m.check or {}).get("verdict")
        rows.append({
            "id": m.id, "name": m.reward.name, "scene_id": m.scene_id, "level": m.level, "steps": m.steps,
            "eval_reward": m.eval_reward, "created_at": m.created_at, "check": verdict, "dir": str(path),
        })  # fmt: skip
    rows.sort(key=lambda r: r["created_at"], reverse=True)
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no models yet: `tabrl teach` or the web UI trains some")
        return
    for r in rows:
        reward = f"{r['eval_reward']:.1f}" if r["eval_reward"] is not None else "-"
        check = r["check"]
        judged = (
            ""
            if check is None
            else (" [green]passed[/]" if check["passed"] else " [red]failed[/]") + f" {check['figure']}"
        )
        console.print(
            f"[bold]{r['id']}[/] {r['scene_id']} {r['level']} {r['steps']:,} steps, reward {reward}{judged}"
        )


def render_cmd(
    policy: Path = typer.Argument(
        ..., help="Policy folder (a run's policy/, a library model, a base policy)."
    ),
    out: Path = typer.Option(..., "--out", help="MP4 file to write."),
    seconds: float | None = typer.Option(
        None, "--seconds", min=0.1, max=600.0, help="Video length (default: the app's)."
    ),
    seed: int = typer.Option(0, "--seed", min=0, help="Rollout seed (same seed = same start)."),
) -> None:
    """Render a video of a policy: a deterministic rollout on the backend it was trained on."""
    from tabrl.render.store import VIDEO_SECONDS
    from tabrl.training.video import render_policy_video

    path = render_policy_video(policy, out, seconds=seconds or VIDEO_SECONDS, seed=seed)
    console.print(f"wrote {path}")
    sys.stdout.flush()

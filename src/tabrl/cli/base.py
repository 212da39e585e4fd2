"""`tabrl base`: the base policies -- list them, train (reproduce) them, play command programs on them."""

from __future__ import annotations

from pathlib import Path

import typer

from tabrl.cli._common import console, print_json

base_app = typer.Typer(
    help="Base policies: joystick and task policies that level 1 plays and level 2 fine-tunes."
)


def register(app: typer.Typer) -> None:
    """Add the `base` group to the root app."""
    app.add_typer(base_app, name="base")


@base_app.command("list")
def list_cmd(
    scene: str | None = typer.Option(None, "--scene", help="Only this scene's base policies."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Base policies on this machine (shipped with TabRL, or installed by `tabrl base train`)."""
    from rich.table import Table

    from tabrl.scenes.bases import list_bases

    bases = list_bases(scene)
    if as_json:
        print_json([b.to_dict() for b in bases])
        return
    table = Table(title="Base policies", show_lines=False)
    for col in ("id", "scene", "kind", "follows", "trained", "reproduce"):
        table.add_column(col)
    for b in bases:
        follows = (
            "forward +-{:g} m/s, sideways +-{:g} m/s, yaw +-{:g} rad/s".format(*b.command_range)
            if b.command_range
            else "its task"
        )
        wall = f", {b.train_wall_s / 60:.0f} min on {b.trained_on}" if b.train_wall_s else ""
        table.add_row(b.id, b.scene_id, b.kind, follows, f"{b.steps:,} steps{wall}", b.reproduce)
    console.print(table if bases else "no base policies on this machine")


@base_app.command("train")
def train_cmd(
    key: str = typer.Argument(..., help="Base policy id or scene id (e.g. go1-joystick, CartpoleBalance)."),
    steps: int | None = typer.Option(
        None, "--steps", help="Steps instead of the recipe's (a lesser policy)."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Install here instead of <TABRL_HOME>/base_policies."
    ),
    into_package: bool = typer.Option(
        False, "--into-package", help="Replace the policy shipped in the package (maintainers)."
    ),
) -> None:
    """Train a base policy from its recipe (the command each shipped one records) and install it."""
    from tabrl.training.backends.mjx import configure_xla_for_cpu

    configure_xla_for_cpu()
    from tabrl.training.base import get_recipe, train_base

    recipe = get_recipe(key)
    console.print(
        f"training base policy [bold]{recipe.id}[/] on {recipe.scene_id}: {steps or recipe.steps:,} steps"
    )

    def report(event: object) -> None:
        kind = getattr(event, "kind", "")
        if kind in ("started", "eval", "finished", "failed"):
            reward = getattr(event, "eval_reward_mean", None)
            shown = f" eval reward {reward:.1f}" if reward is not None else ""
            console.print(f"  {kind} step {getattr(event, 'step', 0):,}{shown}")

    path = train_base(key, into_package=into_package, out=out, steps=steps, on_event=report)
    console.print(f"installed {recipe.id} in {path}")


@base_app.command("play")
def play_cmd(
    base_id: str = typer.Argument(..., help="Joystick base policy id (e.g. go1-joystick)."),
    program: Path = typer.Argument(..., help="Command program (.py defining command(t))."),
    out: Path = typer.Option(..., "--out", help="Policy folder to write (the base playing the program)."),
    video: Path | None = typer.Option(None, "--video", help="Also render an MP4 here."),
    seconds: float | None = typer.Option(None, "--seconds", help="Video length (default: the standard)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Level 1: play a command program on a joystick base policy -- no training, a policy at once."""
    from tabrl.errors import TabRLError
    from tabrl.policies.commands import command_policy
    from tabrl.scenes.bases import get_base

    try:
        code = program.read_text(encoding="utf-8")
    except OSError as exc:
        raise TabRLError(f"cannot read command program {program}: {exc.strerror}") from None
    base = get_base(base_id)
    manifest = command_policy(base.dir, code, out, name=program.stem)
    result: dict[str, object] = {"policy_dir": str(out), "model_id": manifest.id, "base": base.id}
    if video is not None:
        from tabrl.render.store import VIDEO_SECONDS
        from tabrl.training.video import render_policy_video

        render_policy_video(out, video, seconds=seconds or VIDEO_SECONDS)
        result["video"] = str(video)
    if as_json:
        print_json(result)
    else:
        console.print(f"wrote {out}" + (f" and {video}" if video else ""))

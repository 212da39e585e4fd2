"""`tabrl reward ...` and `tabrl validate-env`: check reward programs, compare MJX with MuJoCo C."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from tabrl.cli._common import console, fail, print_json

reward_app = typer.Typer(
    help="Reward programs: check them against a scene, list the reference ones.", no_args_is_help=True
)

#: Exit code of a rejected reward / an environment outside tolerance.
EXIT_INVALID = 2


def register(app: typer.Typer) -> None:
    """Add the `reward` group and the `validate-env` command to the root app."""
    app.add_typer(reward_app, name="reward")
    app.command("validate-env")(validate_env_cmd)


def _read(path: Path) -> str:
    if not path.is_file():
        raise fail(f"reward file {path} does not exist")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(f"reward file {path} is not UTF-8 text") from None


@reward_app.command("check")
def check_cmd(
    files: list[Path] = typer.Argument(..., help="Reward program(s) (.py) to check."),
    scene: str = typer.Option(..., "--scene", help="Scene id the reward is for (see `tabrl scenes list`)."),
    as_json: bool = typer.Option(
        False, "--json", help='Print {"valid", "terms", "errors": [{"line", "message"}]}.'
    ),
    full: bool = typer.Option(
        False, "--full", help="Also jit and run one environment reset + step (slower)."
    ),
    env: bool = typer.Option(
        False, "--env", help="Also trace the environment's reset + step (seconds more)."
    ),
) -> None:
    """Check reward programs against a scene. Exit 0 when all are valid, 2 when one is not."""
    from tabrl.rewards import check_reward

    results = []
    for path in files:
        code = _read(path)
        result = check_reward(code, scene, env_check=env, full=full)
        results.append((path, result))
    if as_json:
        docs = [r.to_dict() for _, r in results]
        print_json(
            docs[0]
            if len(docs) == 1
            else [{"file": str(p), **d} for (p, _), d in zip(results, docs, strict=True)]
        )
    else:
        for path, result in results:
            if result.valid:
                console.print(
                    f"[green]valid[/] {path}: terms {', '.join(result.terms)} ({result.duration_s:.2f}s)",
                    highlight=False,
                )
            else:
                console.print(f"[red]invalid[/] {path} ({result.duration_s:.2f}s)", highlight=False)
                for err in result.errors:
                    where = f"line {err.line}" if err.line is not None else "-"
                    console.print(f"  {path}:{where}: {err.message}", highlight=False, soft_wrap=True)
    if not all(r.valid for _, r in results):
        raise typer.Exit(EXIT_INVALID)


@reward_app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
    scene: str | None = typer.Option(None, "--scene", help="Only rewards for this scene."),
) -> None:
    """List the reference reward programs shipped with TabRL."""
    from tabrl.rewards.reference import list_reference

    refs = [r for r in list_reference() if scene in (None, r.scene_id)]
    if as_json:
        print_json(
            [
                {"name": r.name, "scene_id": r.scene_id, "description": r.description, "path": str(r.path)}
                for r in refs
            ]
        )
        return
    table = Table(title=f"{len(refs)} reference rewards", header_style="bold")
    for col in ("name", "scene", "description"):
        table.add_column(col)
    for r in refs:
        table.add_row(r.name, r.scene_id, r.description)
    console.print(table)


def validate_env_cmd(
    scene: str = typer.Argument(..., help="Scene id."),
    steps: int = typer.Option(20, "--steps", min=1, max=10_000, help="Control steps to compare."),
    reward: Path | None = typer.Option(
        None, "--reward", help="Reward program (default: the scene's default reward)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the random actions."),
    backend: str = typer.Option(
        "mjx",
        "--backend",
        help="mjx: the MJX training env against MuJoCo C stepping; mujoco: the MuJoCo C training env "
        "(the mujoco backend) against its MJX twin, observations included.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Step a training environment and its other-engine twin from the same states and actions; print the
    largest differences.

    Exit 0 when at most 10% of the steps disagree (a contact switching on in one engine only), 2 otherwise.
    """
    from tabrl.errors import TabRLError
    from tabrl.rewards import validate_env
    from tabrl.rewards.validate import validate_host_env

    if backend not in ("mjx", "mujoco"):
        raise TabRLError(f"--backend must be mjx or mujoco, got {backend!r}")
    code = _read(reward) if reward is not None else None
    check = validate_env if backend == "mjx" else validate_host_env
    with console.status(f"compiling {scene} and stepping {steps} times...") if not as_json else _null():
        report = check(scene, code, steps=steps, seed=seed)
    if as_json:
        print_json(report.to_dict())
    else:
        tol = report.tolerances
        console.print(
            f"[bold]{report.scene}[/]: {report.steps} steps compared, {report.resets} resets, "
            f"{report.duration_s:.1f}s",
            highlight=False,
        )
        console.print(f"max |dqpos| = {report.max_dqpos:.3g} (tol {tol['qpos']:g})", highlight=False)
        console.print(f"max |dqvel| = {report.max_dqvel:.3g} (tol {tol['qvel']:g})", highlight=False)
        for name, value in report.max_dterm.items():
            console.print(f"max |d reward/{name}| = {value:.3g} (tol {tol['term']:g})", highlight=False)
        if report.max_dobs:
            console.print(
                f"max |d observation| = {report.max_dobs:.3g} (tol {tol['observation']:g})", highlight=False
            )
        console.print(
            f"{report.divergent_steps} of {report.compared_steps} steps disagree (allowed: "
            f"{tol['divergent_fraction']:.0%}; a contact switching on in one engine only)",
            highlight=False,
        )
        console.print("[green]within tolerance[/]" if report.ok else "[red]outside tolerance[/]")
    if not report.ok:
        raise typer.Exit(EXIT_INVALID)


class _null:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None

"""`tabrl modal ...`: deploy the Modal app that `tabrl serve --executor modal` runs jobs on."""

from __future__ import annotations

import os
import subprocess
import sys

import typer

from tabrl.cli._common import console, print_json

modal_app = typer.Typer(help="Run jobs on Modal (see README 'Running on a cluster').", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the `modal` command group to the root app."""
    app.add_typer(modal_app, name="modal")


@modal_app.command("deploy")
def deploy(
    gpu: str | None = typer.Option(
        None, "--gpu", help="GPU of the training function (Modal's gpu string). Env: TABRL_MODAL_GPU (H100)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print what would be deployed (no network, no token) and exit."
    ),
    as_json: bool = typer.Option(False, "--json", help="With --dry-run: the description as JSON."),
) -> None:
    """Deploy the TabRL app to Modal: the image from this checkout's uv.lock, a GPU function for
    training, a CPU one for rendering, the Volume, Queue and Dict jobs report through."""
    from tabrl.jobs.modal_app import ModalConfig, describe, project_dir
    from tabrl.jobs.modal_executor import check_reachable

    env = {**os.environ, **({"TABRL_MODAL_GPU": gpu} if gpu else {})}
    config = ModalConfig.from_env(env)
    spec = describe(config)
    if dry_run:
        if as_json:
            print_json(spec)
        else:
            for key, value in spec.items():
                console.print(f"{key}: {value}", highlight=False, soft_wrap=True)
        return
    check_reachable()
    cmd = [sys.executable, "-m", "modal", "deploy", "-m", "tabrl.jobs.modal_app"]
    if config.environment:
        cmd += ["--env", config.environment]
    console.print(f"deploying Modal app {config.app_name!r} (GPU {config.gpu}) from {project_dir()}")
    done = subprocess.run(cmd, cwd=project_dir(), env=env)
    if done.returncode != 0:
        from tabrl.errors import TabRLError

        raise TabRLError(f"`modal deploy` failed (exit code {done.returncode}); its output is above")
    console.print(f"deployed: start the server with `tabrl serve --executor modal` (app {config.app_name!r})")

"""`tabrl` command line: a thin shell over the core packages.

Each command group lives in its own module and registers itself on `app`. Errors a
person can act on (`TabRLError`) print one line and exit non-zero; set TABRL_DEBUG=1
for the traceback of unexpected ones.
"""

from __future__ import annotations

import os
import sys

import typer

from tabrl.cli._common import console, run_guarded

app = typer.Typer(
    name="tabrl",
    help="TabRL: teach simulated robots new behaviours in plain language.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported here so `tabrl --help` stays fast and each module only adds commands.
    from tabrl.cli import scenes

    scenes.register(app)
    for name in ("reward", "train", "base", "generate", "teach", "models", "serve", "modal_cmd"):
        try:
            module = __import__(f"tabrl.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name != f"tabrl.cli.{name}":
                raise
            continue
        module.register(app)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the TabRL version and exit."),
) -> None:
    if version:
        from tabrl import __version__

        console.print(__version__)
        raise typer.Exit()


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _register()
    sys.exit(run_guarded(app))


__all__ = ["app", "main"]

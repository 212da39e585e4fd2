"""Shared helpers of the CLI: consoles, JSON output, error handling."""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import typer
from rich.console import Console

from tabrl.errors import TabRLError

console = Console()
err_console = Console(stderr=True)


def print_json(data: Any) -> None:
    """Machine-readable output: one JSON document on stdout, nothing else."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print `error: message` on stderr and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def run_guarded(app: typer.Typer) -> int:
    """Run the Typer app; turn errors into one line on stderr and an exit code."""
    try:
        # Without standalone mode click returns the exit code of typer.Exit instead of raising.
        rc = app(standalone_mode=False)
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except TabRLError as exc:
        fail(str(exc))
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # a bug or an unexpected failure: still one clear line
        # Typer vendors click; usage errors (bad option, unknown command) show click's message.
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            return int(exc.exit_code)
        if os.environ.get("TABRL_DEBUG"):
            traceback.print_exc()
        fail(f"{type(exc).__name__}: {exc} (set TABRL_DEBUG=1 for the traceback)")
        return 1
    return rc if isinstance(rc, int) else 0

"""`tabrl serve`: the app (API + web UI) on one port."""

from __future__ import annotations

from pathlib import Path

import typer

from tabrl.cli._common import console


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the root app."""
    app.command("serve")(serve)


def _default_web_dir() -> Path | None:
    # A source checkout builds the UI into web/dist; an installed package may ship it.
    for candidate in (
        Path(__file__).resolve().parents[3] / "web" / "dist",
        Path(__file__).resolve().parents[1] / "web",
    ):
        if (candidate / "index.html").is_file():
            return candidate
    return None


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    web_dir: Path | None = typer.Option(None, "--web-dir", help="Built web UI folder (default: web/dist)."),
    build_web: bool = typer.Option(
        True, "--build-web/--no-build-web", help="Build web/dist when it is missing."
    ),
) -> None:
    """Start the TabRL server: REST + WebSocket API under /api, docs at /docs, the web UI at /."""
    import uvicorn

    from tabrl.server import create_app
    from tabrl.server.settings import get_settings

    settings = get_settings(host=host, port=port, web_dir=web_dir or _default_web_dir(build_web))
    app = create_app(settings)
    ui = "web UI at /" if settings.web_dir else "no web UI built (API only)"
    console.print(f"TabRL on [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/docs; {ui})")
    uvicorn.run(app, host=host, port=port, log_level="info")

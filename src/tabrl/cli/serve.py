"""`tabrl serve`: the app (API + web UI) on one port."""

from __future__ import annotations

from pathlib import Path

import typer

from tabrl.cli._common import console


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the root app."""
    app.command("serve")(serve)


WEB_SRC = Path(__file__).resolve().parents[3] / "web"


def _default_web_dir(build: bool) -> Path | None:
    """web/dist of a source checkout, built first when missing (the bundle is never committed)."""
    dist = WEB_SRC / "dist"
    if (dist / "index.html").is_file():
        return dist
    if build and (WEB_SRC / "package.json").is_file():
        return _build_web(dist)
    return None


def _build_web(dist: Path) -> Path | None:
    import shutil
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        console.print("[yellow]npm not found: serving the API only (install Node.js >= 20 for the web UI)[/]")
        return None
    steps = [[npm, "ci", "--no-audit", "--no-fund"]] if not (WEB_SRC / "node_modules").is_dir() else []
    steps.append([npm, "run", "build"])
    with console.status("building the web UI (first start only, about a minute)..."):
        for cmd in steps:
            done = subprocess.run(cmd, cwd=WEB_SRC, capture_output=True, text=True)
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                console.print(
                    f"[yellow]web UI build failed ({' '.join(cmd[1:])}): {' | '.join(tail)}; API only[/]"
                )
                return None
    return dist if (dist / "index.html").is_file() else None


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    web_dir: Path | None = typer.Option(None, "--web-dir", help="Built web UI folder (default: web/dist)."),
    build_web: bool = typer.Option(
        True, "--build-web/--no-build-web", help="Build web/dist when it is missing."
    ),
    executor: str | None = typer.Option(
        None,
        "--executor",
        help="Where jobs run: local (worker processes here, the default), ray (the Ray cluster at "
        "RAY_ADDRESS, else one started on this machine) or modal (the app `tabrl modal deploy` deployed; "
        "a GPU per training job, TABRL_MODAL_GPU, default H100). Env: TABRL_EXECUTOR.",
    ),
) -> None:
    """Start the TabRL server: REST + WebSocket API under /api, docs at /docs, the web UI at /."""
    import uvicorn
    from pydantic import SecretStr

    from tabrl.jobs.executors import EXECUTORS
    from tabrl.server import create_app
    from tabrl.server.security import is_loopback, new_token
    from tabrl.server.settings import get_settings

    if executor is not None and executor not in EXECUTORS:
        raise typer.BadParameter(
            f"{executor!r}; choose one of {', '.join(EXECUTORS)}", param_hint="--executor"
        )
    settings = get_settings(
        host=host, port=port, web_dir=web_dir or _default_web_dir(build_web), executor=executor
    )
    if settings.executor == "modal":
        from tabrl.jobs.modal_executor import check_reachable

        check_reachable()  # fail here, naming what is missing, rather than inside the server's start-up
    exposed = not is_loopback(host)
    if exposed and not settings.token:
        settings.token = SecretStr(new_token())
    token = settings.token.get_secret_value() if settings.token else ""
    app = create_app(settings)
    ui = "web UI at /" if settings.web_dir else "no web UI built (API only)"
    console.print(f"TabRL on [bold]http://{host}:{port}[/]  (API docs: http://{host}:{port}/docs; {ui})")
    if exposed:
        console.print(
            f"[yellow]Listening on {host}, beyond this machine: every route and WebSocket needs the access "
            f"token.[/]\n  token: [bold]{token}[/]  (set TABRL_TOKEN to choose it)\n"
            f"  browser: http://<this machine>:{port}/?token={token}\n"
            f"  API: send 'Authorization: Bearer <token>'",
            soft_wrap=True,
        )
    elif settings.token:
        console.print("Access token required (TABRL_TOKEN is set): open /?token=<token> once in the browser.")
    # Slow or idle clients do not hold a connection open for long (bodies have their own timeout).
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_keep_alive=5, ws_max_size=1024 * 1024)

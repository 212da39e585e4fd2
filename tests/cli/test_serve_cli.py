"""`tabrl serve` as a real process: the README's first command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(300)
def test_serve_starts_and_answers(tmp_path) -> None:
    port = _free_port()
    env = {**os.environ, "TABRL_HOME": str(tmp_path)}
    cmd = [sys.executable, "-m", "tabrl.cli", "serve", "--port", str(port), "--no-build-web"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as resp:
                    assert resp.status == 200 and b'"ok"' in resp.read()
                    break
            except OSError:
                assert time.monotonic() < deadline, "server did not answer within 240 s"
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/docs", timeout=5) as resp:
            assert resp.status == 200
        if (DIST / "index.html").is_file():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                assert b"<div id=" in resp.read()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_beyond_loopback_generates_prints_and_enforces_a_token(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--host 0.0.0.0` without TABRL_TOKEN: a token is generated, printed, and the app requires it.

    Nothing is bound: uvicorn.run is replaced by a function that keeps the app it was given, which
    is then called in process."""
    import uvicorn
    from fastapi.testclient import TestClient

    from tabrl.cli.serve import serve

    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    monkeypatch.setenv("TABRL_RUN_JOBS", "false")
    monkeypatch.delenv("TABRL_TOKEN", raising=False)
    started: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(app=app, **kw))
    serve(host="0.0.0.0", port=8123, web_dir=None, build_web=False, executor=None)
    out = capsys.readouterr().out
    token = started["app"].state.settings.token.get_secret_value()  # a SecretStr: printed once, on purpose
    assert started["host"] == "0.0.0.0" and token and len(token) >= 24
    assert "access token" in out and token in out.replace("\n", "")
    with TestClient(started["app"], base_url="http://192.168.1.20:8123") as client:
        assert client.get("/api/health").status_code == 401
        assert client.get("/api/health", headers={"Authorization": f"Bearer {token}"}).status_code == 200

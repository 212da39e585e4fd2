"""`tabrl base list|play` and `tabrl generate --budget instant --out` through the real console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TABRL = [sys.executable, "-m", "tabrl.cli"]
GO1 = "Go1JoystickFlatTerrain"
KEYS = (
    "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "DEEPSEEK_API_KEY",
    "TABRL_OPENAI_COMPATIBLE_BASE_URL", "TABRL_LLM_PROVIDER", "TABRL_LLM_MODEL",
)  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("TABRL_HOME", str(home))
    monkeypatch.setenv("TABRL_SETTINGS", str(tmp_path / "settings.toml"))  # offline unless configured
    for key in KEYS:
        monkeypatch.delenv(key, raising=False)
    return home


@pytest.fixture
def go1(home, go1_joystick_base):
    """The go1-joystick base (installed in this test's home when it is not shipped yet)."""
    return go1_joystick_base


def run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "250"}  # wide enough that rich tables do not wrap ids
    return subprocess.run([*TABRL, *args], capture_output=True, text=True, env=env, timeout=900)


def test_base_list_json(go1) -> None:
    out = run("base", "list", "--json")
    assert out.returncode == 0, out.stderr
    rows = {b["id"]: b for b in json.loads(out.stdout)}
    assert "go1-joystick" in rows
    joy = rows["go1-joystick"]
    assert joy["kind"] == "joystick" and joy["scene_id"] == GO1
    assert joy["command_range"] == list(go1.command_range) and joy["source"] in ("shipped", "installed")
    assert Path(joy["dir"]) == go1.dir
    only = json.loads(run("base", "list", "--scene", "CheetahRun", "--json").stdout)
    assert only == []
    human = run("base", "list")
    assert human.returncode == 0 and "go1-joystick" in human.stdout


def test_generate_json_with_out_is_one_json_document(go1, tmp_path) -> None:
    """`--json` promises one JSON document on stdout, even when `--out` writes files."""
    out = run("generate", "--scene", GO1, "walk in a square", "--budget", "instant", "--json",
              "--out", str(tmp_path / "progs"))  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["approaches"]) == 3


def _json_tail(stdout: str) -> dict:
    # Tolerates lines printed before the document (see the test above) so the flow below is still checked.
    return json.loads(stdout[stdout.index("{") :])


def test_generate_instant_out_then_base_play(go1, tmp_path) -> None:
    progs, policy = tmp_path / "progs", tmp_path / "policy"
    out = run("generate", "--scene", GO1, "walk in a square", "--budget", "instant", "--json",
              "--out", str(progs))  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = _json_tail(out.stdout)
    assert data["budget"] == "instant"
    assert [a["level"] for a in data["approaches"]] == ["command"] * 3
    assert all(
        a["steps"] == 0 and a["estimate_s"] == 0 and a["base_id"] == "go1-joystick"
        for a in data["approaches"]
    )
    files = sorted(progs.glob("*.py"))
    assert [f.name[:2] for f in files] == ["1-", "2-", "3-"]
    first = files[0]
    assert first.read_text().endswith(data["approaches"][0]["commands"])
    assert "def compute_reward" not in first.read_text()

    played = run("base", "play", "go1-joystick", str(first), "--out", str(policy), "--json")
    assert played.returncode == 0, played.stderr
    result = json.loads(played.stdout)
    assert result["policy_dir"] == str(policy) and result["base"] == "go1-joystick" and result["model_id"]
    manifest = json.loads((policy / "manifest.json").read_text())
    assert manifest["level"] == "command" and manifest["id"] == result["model_id"]
    assert manifest["commands"] == first.read_text() == (policy / "commands.py").read_text()
    assert manifest["reward"]["name"] == first.stem
    assert (policy / "params.msgpack").read_bytes() == (go1.dir / "params.msgpack").read_bytes()


def test_base_play_errors(go1, tmp_path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "def command(t):\n    if t < 1.0:\n        return (0.5, 0.0, 0.0)\n    return (0.0, 0.0, 0.0)\n"
    )
    out = run("base", "play", "go1-joystick", str(bad), "--out", str(tmp_path / "p"))
    assert out.returncode != 0 and "line 2" in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert not (tmp_path / "p").exists()
    good = tmp_path / "good.py"
    good.write_text("def command(t):\n    return (0.5, 0.0, 0.0)\n")
    out = run("base", "play", "go1-joystik", str(good), "--out", str(tmp_path / "p"))
    assert out.returncode != 0 and "go1-joystick" in out.stderr and "Traceback" not in out.stderr, out.stderr
    out = run("base", "play", "go1-joystick", str(tmp_path / "missing.py"), "--out", str(tmp_path / "p"))
    assert out.returncode != 0 and "missing.py" in out.stderr and "Traceback" not in out.stderr, out.stderr


@pytest.mark.heavy
def test_base_play_with_video(go1, tmp_path) -> None:
    import av

    prog = tmp_path / "square.py"
    prog.write_text(
        "def command(t):\n    return schedule(t, [(1.0, (0.5, 0.0, 0.0)), (1.0, (0.0, 0.0, 1.0))], loop=True)\n"
    )
    video = tmp_path / "square.mp4"
    out = run("base", "play", "go1-joystick", str(prog), "--out", str(tmp_path / "p"),
              "--video", str(video), "--seconds", "2", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["video"] == str(video)
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
    assert frames >= 40  # 2 s of video

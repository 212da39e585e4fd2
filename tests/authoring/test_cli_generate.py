"""`tabrl generate` through the real console entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from .fake_servers import FakeLLMServer, Reply
from .rewards_fixtures import GOOD_BALANCE, GOOD_DRIFT, GOOD_SPIN, approaches_json

TABRL = [sys.executable, "-m", "tabrl.cli"]
KEYS = (
    "ANTHROPIC_API_KEY",
    "OPENAI_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "DEEPSEEK_API_KEY",
    "TABRL_OPENAI_COMPATIBLE_BASE_URL",
    "TABRL_LLM_PROVIDER",
)


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k not in KEYS}
    full.update(env)
    return subprocess.run([*TABRL, *args], capture_output=True, text=True, env=full, timeout=600)


def test_offline_json() -> None:
    out = run("generate", "--scene", "CartpoleBalance", "Walk like you're on the moon", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["provider"] == "offline" and isinstance(data["latency_s"], float)
    assert len(data["approaches"]) == 3
    assert len({a["reward_code"] for a in data["approaches"]}) == 3
    for a in data["approaches"]:
        assert a["valid"] and a["errors"] == [] and a["level"] in ("fine_tune", "from_scratch")
        assert {"name", "description", "reward_code", "steps"} <= set(a)


def test_openai_compatible_server() -> None:
    answer = approaches_json(GOOD_BALANCE, GOOD_SPIN, GOOD_DRIFT)
    with FakeLLMServer("openai", [Reply(answer)], model="llama-local") as srv:
        out = run(
            "generate",
            "--scene",
            "CartpoleBalance",
            "keep the pole up",
            "--provider",
            "openai-compatible",
            "--base-url",
            srv.base_url,
            "--model",
            "llama-local",
            "--json",
        )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert (data["provider"], data["model"]) == ("openai-compatible", "llama-local")
    assert [a["valid"] for a in data["approaches"]] == [True, True, True]
    assert srv.requests[0].path == "/v1/chat/completions"


def test_missing_key_is_one_clear_line() -> None:
    out = run("generate", "--scene", "CartpoleBalance", "walk", "--provider", "anthropic", "--json")
    assert out.returncode == 1
    assert "ANTHROPIC_API_KEY" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_list_providers_json() -> None:
    out = run("generate", "--list-providers", "--json", OPENAI_API_KEY="sk-cli-secret-98765")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    assert rows["openai"]["configured"] and not rows["gemini"]["configured"]
    assert "sk-cli-secret-98765" not in out.stdout + out.stderr


def test_human_output() -> None:
    out = run("generate", "--scene", "CartpoleBalance", "spin in place", "--n", "2")
    assert out.returncode == 0, out.stderr
    assert "2 approaches" in out.stdout and "compute_reward" in out.stdout

"""Settings hold keys and the access token as secrets: never in a repr, a log or an API response."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tabrl.authoring.settings import load_settings
from tabrl.server import create_app
from tabrl.server.settings import get_settings

KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-SECRET-1111aaaa",
    "OPENAI_API_KEY": "sk-oai-SECRET-2222bbbb",
    "GEMINI_API_KEY": "gm-SECRET-3333cccc",
    "DEEPSEEK_API_KEY": "sk-ds-SECRET-4444dddd",
    "TABRL_OPENAI_COMPATIBLE_API_KEY": "local-SECRET-5555eeee",
}
TOKEN = "tok-SECRET-0123456789"


def test_the_token_never_prints() -> None:
    settings = get_settings(token=TOKEN, run_jobs=False)
    assert settings.token is not None and settings.token.get_secret_value() == TOKEN
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "SECRET" not in text


def test_no_key_in_the_settings_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TABRL_SETTINGS", str(tmp_path / "settings.toml"))
    for name, value in KEYS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TABRL_LLM_PROVIDER", "anthropic")
    assert "SECRET" not in repr(load_settings())
    app = create_app(get_settings(run_jobs=False, token=TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with TestClient(app, base_url="http://127.0.0.1:8000", headers=auth) as client:
        listed = client.get("/api/llm/providers")
        assert listed.status_code == 200 and {p["name"]: p for p in listed.json()}["anthropic"]["configured"]
        selected = client.post("/api/llm/select", json={"provider": "openai", "model": "gpt-5.5"})
        assert selected.status_code == 200
        answers = [
            listed.text,
            selected.text,
            client.get("/api/health").text,
            client.get("/openapi.json").text,
        ]
    assert "SECRET" not in json.dumps(answers)
    from tabrl.authoring.providers import reset_default

    reset_default()

"""LLM settings (pydantic-settings): where each value comes from, and keys that never print."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr

from tabrl.authoring.providers import PROVIDERS
from tabrl.authoring.settings import FIELD_OF, SettingsError, load_settings

KEY = "sk-ant-SECRET-0123456789"


@pytest.fixture
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A TabRL home of the test's own (its `.env` is read)."""
    monkeypatch.setenv("TABRL_HOME", str(tmp_path))
    return tmp_path


def test_every_provider_setting_is_a_field() -> None:
    """A provider whose key, endpoint or model name is not a settings field could never be configured."""
    names = {
        n for spec in PROVIDERS.values() for n in (*spec.key_names, *spec.base_url_names, *spec.model_names)
    }
    assert names <= set(FIELD_OF), names - set(FIELD_OF)


def test_environment_beats_settings_toml_beats_dotenv(
    llm_env: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (home / ".env").write_text("OPENAI_API_KEY=from-dotenv\nGEMINI_API_KEY=gem-dotenv\nOTHER=ignored\n")
    llm_env.write_text(
        '[llm]\nprovider = "openai"\ntimeout_s = 12\n\n[keys]\nOPENAI_API_KEY = "from-toml"\n'
        'TABRL_OPENAI_COMPATIBLE_BASE_URL = "http://127.0.0.1:11434/v1"\n'
    )
    settings = load_settings()
    assert settings.get("OPENAI_API_KEY").get_secret_value() == "from-toml"  # type: ignore[union-attr]
    assert settings.get("GEMINI_API_KEY", "GOOGLE_API_KEY").get_secret_value() == "gem-dotenv"  # type: ignore[union-attr]
    assert settings.plain("TABRL_OPENAI_COMPATIBLE_BASE_URL") == "http://127.0.0.1:11434/v1"
    assert (settings.provider, settings.timeout_s, settings.max_retries) == ("openai", 12.0, 3)
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    monkeypatch.setenv("TABRL_LLM_TIMEOUT_S", "7.5")
    monkeypatch.setenv("GEMINI_API_KEY", "")  # empty: unset, the file's value stays
    settings = load_settings()
    assert settings.get("OPENAI_API_KEY").get_secret_value() == "from-env"  # type: ignore[union-attr]
    assert settings.get("GEMINI_API_KEY").get_secret_value() == "gem-dotenv"  # type: ignore[union-attr]
    assert settings.timeout_s == 7.5
    assert settings.get("DEEPSEEK_API_KEY") is None and settings.plain("NOT_A_SETTING") is None


def test_keys_never_print(llm_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    llm_env.write_text(f'[keys]\nOPENAI_API_KEY = "{KEY}-toml"\n')
    settings = load_settings()
    assert isinstance(settings.anthropic_api_key, SecretStr)
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        json.dumps(settings.model_dump(mode="json")),
    ):
        assert "SECRET" not in text
    secret = settings.get("ANTHROPIC_API_KEY")
    assert "SECRET" not in f"{secret} {secret!r}" and secret.get_secret_value() == KEY  # type: ignore[union-attr]


def test_quirks_of_the_old_reader(llm_env: Path, home: Path) -> None:
    """Where the hand-written reader and the model disagreed, the model won."""
    # 0 retries in the file is 0 (it used to mean "unset": 3).
    llm_env.write_text("[llm]\nmax_retries = 0\n")
    assert load_settings().max_retries == 0
    # .env sets any setting, not only keys (it used to be read for keys and URLs only).
    (home / ".env").write_text("TABRL_LLM_PROVIDER=gemini\n")
    assert load_settings().provider == "gemini"


@pytest.mark.parametrize(
    ("toml", "env", "fragment"),
    [
        ("[llm]\ntimeout_s = 0\n", {}, "TABRL_LLM_TIMEOUT_S"),
        ("", {"TABRL_LLM_MAX_RETRIES": "many"}, "TABRL_LLM_MAX_RETRIES"),
        ("[llm\n", {}, "not valid TOML"),
    ],
)
def test_bad_settings_say_which(
    toml: str, env: dict[str, str], fragment: str, llm_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm_env.write_text(toml)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(SettingsError, match=fragment) as err:
        load_settings()
    if "TOML" not in fragment:
        assert "got" in str(err.value)

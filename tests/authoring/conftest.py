"""Fixtures for authoring tests: a clean LLM environment (no keys, no settings file)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tabrl.authoring.providers import PROVIDERS, reset_default

_ENV_NAMES = {
    name for spec in PROVIDERS.values() for name in (*spec.key_names, *spec.base_url_names, *spec.model_names)
} | {
    "TABRL_LLM_PROVIDER",
    "TABRL_LLM_MODEL",
    "TABRL_LLM_BASE_URL",
    "TABRL_LLM_TIMEOUT_S",
    "TABRL_LLM_MAX_RETRIES",
    "TABRL_LLM_RETRY_DELAY_S",
    "TABRL_SETTINGS",
}


@pytest.fixture(autouse=True)
def llm_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No provider keys from the developer's shell; settings read from a per-test file."""
    for name in _ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    settings = tmp_path / "settings.toml"
    monkeypatch.setenv("TABRL_SETTINGS", str(settings))
    # Fast, still exponential, back-off for the SDK whose first delay is configurable (Gemini).
    monkeypatch.setenv("TABRL_LLM_RETRY_DELAY_S", "0.05")
    reset_default()
    yield settings
    reset_default()

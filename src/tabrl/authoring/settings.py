"""Where LLM settings and keys come from: the environment first, then settings files.

Sources, highest priority first:

1. environment variables (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `GEMINI_API_KEY` or
   `GOOGLE_API_KEY`, `DEEPSEEK_API_KEY`, `TABRL_OPENAI_COMPATIBLE_BASE_URL`,
   `TABRL_OPENAI_COMPATIBLE_API_KEY`, `TABRL_LLM_PROVIDER`, `TABRL_LLM_MODEL`, ...);
2. `<TABRL_HOME>/settings.toml`:

       [llm]
       provider = "anthropic"           # default provider (offline when unset)
       model = "claude-sonnet-4-5"
       timeout_s = 90
       max_retries = 3

       [keys]
       ANTHROPIC_API_KEY = "sk-ant-..."
       TABRL_OPENAI_COMPATIBLE_BASE_URL = "http://127.0.0.1:11434/v1"

3. `<TABRL_HOME>/.env` (KEY=value lines).

Keys are held in `Secret`s, whose `repr`/`str` never show the value; they are only
unwrapped when an SDK client is built.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from tabrl.errors import TabRLError


class Secret:
    """A key that does not print itself (`repr`, `str`, f-strings and logs show `***`)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The key itself: only for handing to an SDK client."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class SettingsError(TabRLError):
    """The settings file cannot be read."""


@dataclass
class LLMSettings:
    """Resolved LLM settings (never serialised: holds keys)."""

    provider: str | None = None
    model: str | None = None
    base_url: str | None = None
    timeout_s: float = 90.0
    max_retries: int = 3
    #: First back-off delay (s) where the SDK lets us set it (Gemini); OpenAI and
    #: Anthropic SDKs use their own exponential back-off from 0.5 s (honouring Retry-After).
    retry_initial_delay_s: float = 1.0
    values: dict[str, Secret] = field(default_factory=dict, repr=False)

    def get(self, *names: str) -> Secret | None:
        """The first non-empty value among `names` (environment beats files)."""
        for name in names:
            env = os.environ.get(name)
            if env:
                return Secret(env)
            if self.values.get(name):
                return self.values[name]
        return None

    def plain(self, *names: str) -> str | None:
        """A non-secret value (URL, model name) from the same sources."""
        value = self.get(*names)
        return value.reveal() if value else None


def settings_paths() -> list[Path]:
    """The files read, in priority order (TABRL_SETTINGS overrides the TOML path)."""
    from tabrl.paths import home_dir

    home = home_dir()
    toml = Path(os.environ["TABRL_SETTINGS"]) if os.environ.get("TABRL_SETTINGS") else home / "settings.toml"
    return [toml, home / ".env"]


def _read_dotenv(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def load_settings() -> LLMSettings:
    """Read the settings files and the environment (cheap; called per request)."""
    toml_path, env_path = settings_paths()
    values: dict[str, Secret] = {}
    llm: dict[str, object] = {}
    if env_path.is_file():
        values.update({k: Secret(v) for k, v in _read_dotenv(env_path).items()})
    if toml_path.is_file():
        try:
            data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{toml_path}: not valid TOML ({exc}); fix or remove the file") from None
        values.update({str(k): Secret(str(v)) for k, v in dict(data.get("keys", {})).items()})
        llm = dict(data.get("llm", {}))
    settings = LLMSettings(values=values)
    settings.provider = os.environ.get("TABRL_LLM_PROVIDER") or _str(llm.get("provider"))
    settings.model = os.environ.get("TABRL_LLM_MODEL") or _str(llm.get("model"))
    settings.base_url = _str(llm.get("base_url"))
    try:
        settings.timeout_s = float(os.environ.get("TABRL_LLM_TIMEOUT_S") or llm.get("timeout_s") or 90.0)
        settings.max_retries = int(os.environ.get("TABRL_LLM_MAX_RETRIES") or llm.get("max_retries") or 3)
        settings.retry_initial_delay_s = float(
            os.environ.get("TABRL_LLM_RETRY_DELAY_S") or llm.get("retry_initial_delay_s") or 1.0
        )
    except (TypeError, ValueError):
        raise SettingsError(
            "LLM timeout / retry settings must be numbers (TABRL_LLM_TIMEOUT_S, TABRL_LLM_MAX_RETRIES, "
            "TABRL_LLM_RETRY_DELAY_S or [llm] in settings.toml)"
        ) from None
    return settings


def _str(value: object) -> str | None:
    return str(value) if value not in (None, "") else None

"""Where LLM settings and keys come from: the environment first, then settings files.

Sources, highest priority first (pydantic-settings sources of `LLMSettings`):

1. environment variables (`ANTHROPIC_API_KEY`, `OPENAI_API_KEY`, `GEMINI_API_KEY` or
   `GOOGLE_API_KEY`, `DEEPSEEK_API_KEY`, `TABRL_OPENAI_COMPATIBLE_BASE_URL`,
   `TABRL_OPENAI_COMPATIBLE_API_KEY`, `TABRL_LLM_PROVIDER`, `TABRL_LLM_MODEL`, ...: each field's
   `validation_alias`); empty ones count as unset;
2. `<TABRL_HOME>/settings.toml` (`TABRL_SETTINGS` names another file):

       [llm]
       provider = "anthropic"           # default provider (offline when unset)
       model = "claude-sonnet-4-5"
       timeout_s = 90
       max_retries = 3

       [keys]
       ANTHROPIC_API_KEY = "sk-ant-..."
       TABRL_OPENAI_COMPATIBLE_BASE_URL = "http://127.0.0.1:11434/v1"

3. `<TABRL_HOME>/.env` (KEY=value lines).

Keys are pydantic `SecretStr`s, whose `repr`/`str` (and the settings' own repr and JSON) never show
the value; they are only unwrapped (`get_secret_value()`) when an SDK client is built.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tabrl.errors import TabRLError


class SettingsError(TabRLError):
    """The settings file cannot be read, or a setting has a value it cannot take."""


def _env(name: str, default: Any = None, **constraints: Any) -> Any:
    """A field read from environment variable (and settings name) `name`."""
    return Field(default=default, validation_alias=name, **constraints)


class LLMSettings(BaseSettings):
    """Resolved LLM settings: the default provider and model, call limits, and each provider's key,
    endpoint and model setting (by the environment variable names in `PROVIDERS`)."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore")

    #: Default provider (offline when unset) and its model / endpoint ([llm] in settings.toml).
    provider: str | None = _env("TABRL_LLM_PROVIDER")
    model: str | None = _env("TABRL_LLM_MODEL")
    base_url: str | None = _env("TABRL_LLM_BASE_URL")
    timeout_s: float = _env("TABRL_LLM_TIMEOUT_S", 90.0, gt=0)
    max_retries: int = _env("TABRL_LLM_MAX_RETRIES", 3, ge=0)
    #: First back-off delay (s) where the SDK lets us set it (Gemini); OpenAI and
    #: Anthropic SDKs use their own exponential back-off from 0.5 s (honouring Retry-After).
    retry_initial_delay_s: float = _env("TABRL_LLM_RETRY_DELAY_S", 1.0, ge=0)

    anthropic_api_key: SecretStr | None = _env("ANTHROPIC_API_KEY")
    openai_api_key: SecretStr | None = _env("OPENAI_API_KEY")
    gemini_api_key: SecretStr | None = _env("GEMINI_API_KEY")
    google_api_key: SecretStr | None = _env("GOOGLE_API_KEY")
    deepseek_api_key: SecretStr | None = _env("DEEPSEEK_API_KEY")
    openai_compatible_api_key: SecretStr | None = _env("TABRL_OPENAI_COMPATIBLE_API_KEY")

    anthropic_base_url: str | None = _env("ANTHROPIC_BASE_URL")
    openai_base_url: str | None = _env("OPENAI_BASE_URL")
    gemini_base_url: str | None = _env("GEMINI_BASE_URL")
    deepseek_base_url: str | None = _env("DEEPSEEK_BASE_URL")
    openai_compatible_base_url: str | None = _env("TABRL_OPENAI_COMPATIBLE_BASE_URL")
    openai_compatible_model: str | None = _env("TABRL_OPENAI_COMPATIBLE_MODEL")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """An empty key, URL or name (in a file) is no value; an empty number is still an error."""
        optional = cls.model_fields[str(info.field_name)].default is None
        return None if optional and value == "" else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _SettingsToml(settings_cls), dotenv_settings

    def get(self, *names: str) -> SecretStr | None:
        """The first set value among settings `names` (environment variable names), as a secret."""
        value = self.plain(*names)
        return SecretStr(value) if value else None

    def plain(self, *names: str) -> str | None:
        """The first set value among `names`, unwrapped: for URLs and model names (or an SDK client)."""
        for name in names:
            value = getattr(self, FIELD_OF.get(name, ""), None)
            value = value.get_secret_value() if isinstance(value, SecretStr) else value
            if value:
                return str(value)
        return None


#: Setting (environment variable) name -> LLMSettings field.
FIELD_OF: dict[str, str] = {str(f.validation_alias): n for n, f in LLMSettings.model_fields.items()}


class _SettingsToml(PydanticBaseSettingsSource):
    """settings.toml: `[llm]` entries by field name, `[keys]` entries by setting name."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads the whole file

    def __call__(self) -> dict[str, Any]:
        path = settings_paths()[0]
        if not path.is_file():
            return {}
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: not valid TOML ({exc}); fix or remove the file") from None
        fields = LLMSettings.model_fields
        values = {str(k): str(v) for k, v in dict(data.get("keys", {})).items()}
        values.update(
            {str(fields[k].validation_alias): v for k, v in dict(data.get("llm", {})).items() if k in fields}
        )
        return values


def settings_paths() -> list[Path]:
    """The files read, in priority order (TABRL_SETTINGS overrides the TOML path)."""
    from tabrl.paths import home_dir

    home = home_dir()
    toml = Path(os.environ["TABRL_SETTINGS"]) if os.environ.get("TABRL_SETTINGS") else home / "settings.toml"
    return [toml, home / ".env"]


def load_settings() -> LLMSettings:
    """Read the environment and the settings files (cheap; called per request)."""
    try:
        return LLMSettings(_env_file=settings_paths()[1])  # type: ignore[call-arg]
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        name = str(error["loc"][0]) if error["loc"] else "LLM settings"
        shown = "***" if FIELD_OF.get(name, "").endswith("api_key") else repr(error["input"])
        raise SettingsError(
            f"{name} (environment, [llm] / [keys] in settings.toml, or .env): {error['msg']}, got {shown}"
        ) from None

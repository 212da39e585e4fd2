"""Server settings from environment variables (prefix `TABRL_`) or a `.env` file.

Created by `get_settings()` when the app is built, never at import, so tests and
`tabrl serve` flags can set them.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the server can be configured with."""

    model_config = SettingsConfigDict(env_prefix="TABRL_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    #: Built web UI (web/dist); served at / when present.
    web_dir: Path | None = Field(default=None, description="Folder with the built web UI.")
    #: Browsers on other origins (e.g. the Vite dev server) allowed to call the API.
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:5173", "http://127.0.0.1:5173"]
    )
    #: Training jobs run at once (each in its own worker process).
    max_concurrent_jobs: int = Field(default=3, ge=1, le=64)
    #: Where jobs run: "local" (worker processes on this machine).
    executor: str = "local"
    #: Requeue jobs interrupted by a server stop, resuming from their checkpoint.
    resume_interrupted: bool = True
    #: Run the job scheduler in this process.
    run_jobs: bool = True


def get_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (e.g. CLI flags) on top."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})

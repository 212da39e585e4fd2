"""The Modal settings the server, the deployed app and its job functions share: `ModalConfig` (the
`TABRL_MODAL_*` variables) and the names of the app's functions and Volume mount.

Both `modal_app` (the app's description) and `modal_executor` (the server side, and the job function's
body) import it; it needs neither them nor the `modal` package.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from tabrl.errors import TabRLError

#: Where the files Volume is mounted in the containers.
VOLUME_MOUNT = "/tabrl-jobs"
#: Name of the GPU function and of the CPU one in the deployed app.
GPU_FUNCTION = "run_job"
CPU_FUNCTION = "run_job_cpu"


class ModalConfig(BaseSettings):
    """Where and how jobs run on Modal: the `TABRL_MODAL_*` variables (`from_env`), or fields."""

    # Every field names its variable (`validation_alias`): nothing else is read from the environment.
    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True
    )

    app_name: str = Field("tabrl", min_length=1, validation_alias=AliasChoices("app_name", "TABRL_MODAL_APP"))
    #: GPU type of the training function (Modal's `gpu=` string, e.g. "H100", "A100-80GB", "L4", "H100:2").
    gpu: str = Field("H100", min_length=1, validation_alias=AliasChoices("gpu", "TABRL_MODAL_GPU"))
    #: Seconds one job may run before Modal stops it (Modal allows at most 24 h); it then resumes from
    #: its last checkpoint as a new call.
    timeout_s: int = Field(
        24 * 3600, gt=0, le=24 * 3600, validation_alias=AliasChoices("timeout_s", "TABRL_MODAL_TIMEOUT_S")
    )
    #: CPU cores reserved per job (the MuJoCo C backend and rendering use them).
    cpu: float = Field(4.0, gt=0, validation_alias=AliasChoices("cpu", "TABRL_MODAL_CPU"))
    #: Memory reserved per job, MiB.
    memory_mb: int = Field(
        16 * 1024, gt=0, validation_alias=AliasChoices("memory_mb", "TABRL_MODAL_MEMORY_MB")
    )
    volume_name: str = Field(
        "tabrl-jobs", min_length=1, validation_alias=AliasChoices("volume_name", "TABRL_MODAL_VOLUME")
    )
    queue_name: str = Field(
        "tabrl-events", min_length=1, validation_alias=AliasChoices("queue_name", "TABRL_MODAL_QUEUE")
    )
    dict_name: str = Field(
        "tabrl-control", min_length=1, validation_alias=AliasChoices("dict_name", "TABRL_MODAL_DICT")
    )
    #: Modal environment (None: the profile's default).
    environment: str | None = Field(
        None, validation_alias=AliasChoices("environment", "TABRL_MODAL_ENVIRONMENT")
    )

    @field_validator("gpu", mode="after")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ModalConfig:
        """The config from `TABRL_MODAL_APP`, `_GPU`, `_TIMEOUT_S`, `_CPU`, `_MEMORY_MB`, `_VOLUME`,
        `_QUEUE`, `_DICT`, `_ENVIRONMENT` (`os.environ` unless `env` is given); a bad value raises a
        TabRLError naming the variable and what it accepts."""
        try:
            if env is None:
                return cls()
            # Validating the mapping alone: pydantic-settings' own sources read only os.environ.
            return cls.model_validate(
                {k: v for k, v in env.items() if k.startswith("TABRL_MODAL_") and v != ""}
            )
        except ValidationError as exc:
            raise TabRLError("; ".join(_say(e) for e in exc.errors())) from None


def _say(error: Any) -> str:
    """One validation error as the variable a person set and what it accepts."""
    where = str(error["loc"][0]) if error["loc"] else "value"  # the alias the value came in by
    field, name = where, where
    for key, info in ModalConfig.model_fields.items():
        choices = [str(c) for c in getattr(info.validation_alias, "choices", ())]
        if where in (key, *choices):
            field, name = key, next((c for c in choices if c.startswith("TABRL_MODAL_")), key)
    raw, kind, ctx = error.get("input"), error["type"], error.get("ctx") or {}
    if kind in ("int_parsing", "float_parsing", "int_from_float"):
        what = "is not a number" if kind != "int_from_float" else "must be a whole number"
    elif kind == "greater_than":
        what = "must be positive"
    elif kind == "less_than_equal" and field == "timeout_s":
        what = f"is too long: Modal allows at most {ctx['le']} s (24 h)"
    else:
        what = error["msg"]
    return f"{name}={raw!r} {what}"

"""The Modal settings the server, the deployed app and its job functions share: `ModalConfig` (the
`TABRL_MODAL_*` variables) and the names of the app's functions and Volume mount.

Both `modal_app` (the app's description) and `modal_executor` (the server side, and the job function's
body) import it; it needs neither them nor the `modal` package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tabrl.errors import TabRLError

#: Where the files Volume is mounted in the containers.
VOLUME_MOUNT = "/tabrl-jobs"
#: Name of the GPU function and of the CPU one in the deployed app.
GPU_FUNCTION = "run_job"
CPU_FUNCTION = "run_job_cpu"


@dataclass(frozen=True)
class ModalConfig:
    """Where and how jobs run on Modal; `from_env()` reads the `TABRL_MODAL_*` variables."""

    app_name: str = "tabrl"
    #: GPU type of the training function (Modal's `gpu=` string, e.g. "H100", "A100-80GB", "L4", "H100:2").
    gpu: str = "H100"
    #: Seconds one job may run before Modal stops it (Modal allows at most 24 h); it then resumes from
    #: its last checkpoint as a new call.
    timeout_s: int = 24 * 3600
    #: CPU cores reserved per job (the MuJoCo C backend and rendering use them).
    cpu: float = 4.0
    #: Memory reserved per job, MiB.
    memory_mb: int = 16 * 1024
    volume_name: str = "tabrl-jobs"
    queue_name: str = "tabrl-events"
    dict_name: str = "tabrl-control"
    #: Modal environment (None: the profile's default).
    environment: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> ModalConfig:
        """The config from `TABRL_MODAL_APP`, `_GPU`, `_TIMEOUT_S`, `_CPU`, `_MEMORY_MB`, `_VOLUME`,
        `_QUEUE`, `_DICT`, `_ENVIRONMENT` (`os.environ` unless `env` is given)."""
        env = os.environ if env is None else env

        def number(name: str, default: float, kind: type) -> Any:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value = kind(raw)
            except ValueError:
                raise TabRLError(f"{name}={raw!r} is not a number") from None
            if value <= 0:
                raise TabRLError(f"{name} must be positive (got {raw!r})")
            return value

        timeout = number("TABRL_MODAL_TIMEOUT_S", cls.timeout_s, int)
        if timeout > 24 * 3600:
            raise TabRLError(f"TABRL_MODAL_TIMEOUT_S={timeout}: Modal allows at most 86400 s (24 h)")
        gpu = (env.get("TABRL_MODAL_GPU") or cls.gpu).strip()
        return cls(
            app_name=env.get("TABRL_MODAL_APP") or cls.app_name,
            gpu=gpu,
            timeout_s=timeout,
            cpu=number("TABRL_MODAL_CPU", cls.cpu, float),
            memory_mb=number("TABRL_MODAL_MEMORY_MB", cls.memory_mb, int),
            volume_name=env.get("TABRL_MODAL_VOLUME") or cls.volume_name,
            queue_name=env.get("TABRL_MODAL_QUEUE") or cls.queue_name,
            dict_name=env.get("TABRL_MODAL_DICT") or cls.dict_name,
            environment=env.get("TABRL_MODAL_ENVIRONMENT") or None,
        )

"""The Modal app that runs TabRL jobs: `tabrl modal deploy` deploys it, `tabrl serve --executor modal`
spawns one function call per job (`tabrl.jobs.modal_executor`).

- **Image**: Debian slim with the deploying Python (3.11 or 3.12), the EGL/Mesa libraries MuJoCo renders with, and this
  project's locked dependencies installed by `uv sync --locked` from its own `pyproject.toml` and
  `uv.lock` (plus the `cuda` extra, JAX's CUDA 12 wheels, for the GPU function). TabRL's source is
  added on top, so a code change does not rebuild the dependencies.
- **Functions**: `run_job` on a GPU (`TABRL_MODAL_GPU`, default `H100`) for training on MJX, and
  `run_job_cpu` (no GPU) for render jobs and training on the MuJoCo C backend. Both run
  `modal_executor.run_payload`: the payload (the job as the server has it, and a bundle of its
  input files) is unpacked into a scratch TabRL home and run through `tabrl.jobs.worker.execute`.
- **Storage**: a Queue (`TABRL_MODAL_QUEUE`, one partition per job) carries the job's progress,
  events and results to the server; a Volume (`TABRL_MODAL_VOLUME`) carries its files (checkpoint,
  policy, video and run bundles); a Dict (`TABRL_MODAL_DICT`) carries stop requests and start marks.

Importing this module needs the `modal` package but no network and no token: it only builds the
app's description. `modal deploy -m tabrl.jobs.modal_app` uploads it (what `tabrl modal deploy`
runs). The settings are read when the module is imported, on the machine that deploys: the
deployed functions keep them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import modal

from tabrl.errors import TabRLError

# Re-exported (`tabrl modal deploy` and the tests import them from here). They live in `modal_config`
# because the executor needs them too, and `modal_app` imports the executor (its job functions run
# `modal_executor.run_payload`): the executor importing this module back would close a circle.
from tabrl.jobs.modal_config import CPU_FUNCTION, GPU_FUNCTION, VOLUME_MOUNT, ModalConfig

#: System libraries for MuJoCo's EGL rendering (as `.ci/run` installs them).
APT_PACKAGES = ("libegl1", "libegl-mesa0", "libgl1-mesa-dri")
#: The image's Python: the deploying interpreter's minor version (the job functions are sent pickled,
#: which needs the same one on both sides; uv.lock covers 3.11 and 3.12).
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def project_dir() -> Path:
    """The source checkout this module belongs to (holds `pyproject.toml` and `uv.lock`)."""
    return Path(__file__).resolve().parents[3]


def _not_cache(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix == ".pyc"


def build_image(root: Path | None = None, *, gpu: bool = True) -> modal.Image:
    """The job image: the project's locked dependencies (`uv sync --locked`, the `cuda` extra when
    `gpu`), EGL for rendering, then TabRL's source (non-Python assets included)."""
    root = root or project_dir()
    missing = [n for n in ("pyproject.toml", "uv.lock") if not (root / n).is_file()]
    if missing:
        raise TabRLError(
            f"{', '.join(missing)} not found in {root}: the Modal image is built from a TabRL source "
            "checkout's lock; deploy from a checkout (git clone, then `uv sync --locked`)"
        )
    return (
        modal.Image.debian_slim(python_version=PYTHON_VERSION)
        .apt_install(*APT_PACKAGES)
        # frozen=False + --locked: fail the build if uv.lock does not match pyproject.toml, rather
        # than install from a stale lock (--frozen) or re-resolve (neither flag).
        .uv_sync(str(root), frozen=False, extra_options="--locked", extras=["cuda"] if gpu else [])
        .env({"MUJOCO_GL": "egl", "PYTHONUNBUFFERED": "1", "TABRL_HOME": "/tmp/tabrl-home"})
        .add_local_python_source("tabrl", ignore=_not_cache)
    )


def describe(config: ModalConfig | None = None) -> dict[str, Any]:
    """What `build_app` deploys, in plain values (`tabrl modal deploy --dry-run`)."""
    config = config or ModalConfig.from_env()
    return {
        "app": config.app_name,
        "functions": {
            GPU_FUNCTION: {"gpu": config.gpu, "image": "locked + cuda extra"},
            CPU_FUNCTION: {"gpu": None, "image": "locked"},
        },
        "timeout_s": config.timeout_s,
        "cpu": config.cpu,
        "memory_mb": config.memory_mb,
        "volume": config.volume_name,
        "queue": config.queue_name,
        "dict": config.dict_name,
        "environment": config.environment,
        "image": (
            f"debian_slim python {PYTHON_VERSION} + apt {' '.join(APT_PACKAGES)} + "
            f"uv sync --locked from {project_dir() / 'uv.lock'} + tabrl source"
        ),
    }


def build_app(config: ModalConfig | None = None, root: Path | None = None) -> modal.App:
    """The Modal app: the GPU and the CPU job functions, with the files Volume mounted."""
    config = config or ModalConfig.from_env()
    app = modal.App(config.app_name)
    volume = modal.Volume.from_name(
        config.volume_name, create_if_missing=True, environment_name=config.environment
    )
    common: dict[str, Any] = {
        "timeout": config.timeout_s,
        "cpu": config.cpu,
        "memory": config.memory_mb,
        "volumes": {VOLUME_MOUNT: volume},
        # A failed job is not retried by Modal: the server decides (lost -> resume from a checkpoint).
        "retries": 0,
        "serialized": True,
        # Read by the job function to find its storage (same names as the server's).
        "env": {
            "TABRL_MODAL_VOLUME": config.volume_name,
            "TABRL_MODAL_QUEUE": config.queue_name,
            "TABRL_MODAL_DICT": config.dict_name,
            **({"TABRL_MODAL_ENVIRONMENT": config.environment} if config.environment else {}),
        },
    }

    def run_job(payload: dict[str, Any]) -> dict[str, Any]:
        """Run one TabRL job (GPU)."""
        from tabrl.jobs.modal_executor import ModalContainerIO, run_payload

        return run_payload(payload, ModalContainerIO.from_env())

    def run_job_cpu(payload: dict[str, Any]) -> dict[str, Any]:
        """Run one TabRL job (no GPU)."""
        from tabrl.jobs.modal_executor import ModalContainerIO, run_payload

        return run_payload(payload, ModalContainerIO.from_env())

    app.function(image=build_image(root, gpu=True), gpu=config.gpu, name=GPU_FUNCTION, **common)(run_job)
    app.function(image=build_image(root, gpu=False), name=CPU_FUNCTION, **common)(run_job_cpu)
    return app


def _module_app() -> modal.App | None:
    """The app `modal deploy -m tabrl.jobs.modal_app` finds; None outside a source checkout
    (an installed wheel has no uv.lock to build the image from)."""
    if not (project_dir() / "uv.lock").is_file():
        return None
    return build_app()


app = _module_app()

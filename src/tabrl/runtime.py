"""Process-wide JAX settings, applied once before the first compile.

- A persistent compilation cache under `<TABRL_CACHE_DIR>/jax`: the second run of the
  same scene skips most of the (CPU: tens of seconds) XLA compile.
- Quiet logs: XLA/absl chatter is not for the person at the terminal.
- No NVIDIA Warp: `skip_warp` (installed when `tabrl` is imported).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from functools import lru_cache
from types import ModuleType
from typing import Any

#: The MJX implementation TabRL runs everywhere (CPU and GPU): JAX's. Playground 0.2.0 defaults to
#: "warp", slow on a CPU and with another data layout; one code path serves both devices.
MJX_IMPL = "jax"

#: MJX's optional Warp bridge: imported by `mujoco.mjx` itself.
_MJX_WARP = "mujoco.mjx.warp"


class _QuietLoader(importlib.abc.Loader):
    """Runs a module's import with its stdout sent to stderr."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        with contextlib.redirect_stdout(sys.stderr):
            self._loader.exec_module(module)


class _SkipWarp(importlib.abc.MetaPathFinder):
    """Finds `mujoco.mjx.warp` as usual, but runs it with stdout sent to stderr (see `skip_warp`)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _MJX_WARP:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def skip_warp() -> None:
    """Keep NVIDIA Warp out of this process (unless TABRL_WARP=1 or Warp is already imported).

    This is the one place TabRL reaches into MJX's import machinery, and why: TabRL runs MJX with
    `impl="jax"` only (`tabrl.scenes.loader`), yet `import mujoco.mjx` imports Warp and MuJoCo
    Warp, whose kernel set-up took 5-7 s of every process on this 2-core CPU (measured; a level-1
    video waits on it). With `warp` marked missing, MJX prints "Failed to import warp" to stdout,
    which would corrupt `--json` output, so that one module's import writes to stderr instead.
    Idempotent.
    """
    if os.environ.get("TABRL_WARP") == "1" or "warp" in sys.modules:
        return
    sys.modules["warp"] = None  # type: ignore[assignment]  # "import warp" raises ImportError
    if not any(isinstance(f, _SkipWarp) for f in sys.meta_path):
        sys.meta_path.insert(0, _SkipWarp())


@lru_cache(maxsize=1)
def configure_jax() -> None:
    """Apply TabRL's JAX settings (idempotent)."""
    # 3: XLA:CPU logs an "error" for every persistent-cache hit whose tuning flags
    # (prefer-no-gather) differ from the host's; real failures still raise in Python.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import jax

    from tabrl.paths import cache_dir, sub_dir

    if os.environ.get("TABRL_JAX_CACHE", "1") != "0":
        jax.config.update("jax_compilation_cache_dir", str(sub_dir(cache_dir(), "jax")))
        # Cache every compile that took a while. 0.1 s, not JAX's 1 s: on two cores a run's small
        # programs (network init, Brax's state casts) take 0.2-0.5 s each to compile, and reading
        # one back takes milliseconds (~1.5 s off every later CartpoleBalance run).
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("jax._src.xla_bridge").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=RuntimeWarning, message="overflow encountered in cast")


def device_kind() -> str:
    """'gpu', 'tpu' or 'cpu': the backend JAX computes on."""
    import jax

    return jax.default_backend()

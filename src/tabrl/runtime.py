"""Process-wide JAX settings, applied once before the first compile.

- A persistent compilation cache under `<TABRL_CACHE_DIR>/jax`: the second run of the
  same scene skips most of the (CPU: tens of seconds) XLA compile.
- Quiet logs: XLA/absl chatter is not for the person at the terminal.
"""

from __future__ import annotations

import logging
import os
import warnings
from functools import lru_cache


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

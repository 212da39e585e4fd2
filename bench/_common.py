"""What the bench scripts set up first, defined once: JAX on the CPU unless told otherwise, quiet XLA
logs, headless MuJoCo rendering, the offline Menagerie next to the checkout; and the load average
every figure is read against (two cores: anything else running distorts the timings)."""

from __future__ import annotations

import os
from pathlib import Path


def offline_env() -> None:
    """Environment defaults of a bench run (each kept when already set)."""
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MUJOCO_GL", "egl")
    shared = Path(__file__).resolve().parents[2] / "shared" / "menagerie"
    if "MENAGERIE_ROOT" not in os.environ and shared.is_dir():
        os.environ["MENAGERIE_ROOT"] = str(shared)


def load() -> dict[str, float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    one, five, fifteen = os.getloadavg()
    return {"load1": round(one, 2), "load5": round(five, 2), "load15": round(fifteen, 2)}

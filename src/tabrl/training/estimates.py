"""Honest time estimates: measured throughput where we have it, a labelled guess elsewhere.

`MEASURED` holds numbers taken with `bench/train_cpu.py` / `bench/train_gpu.py` (training
env-steps/s of the default preset including PPO updates, and the cold-cache JIT compile
time). Scenes without a measurement are scaled from the closest measured one by physics cost
(substeps x degrees of freedom x collision geoms), and the estimate says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

Basis = Literal["measured", "estimate"]


@dataclass(frozen=True)
class Throughput:
    """One measurement of the default preset on one device."""

    env_steps_per_s: float
    #: Cold-cache JIT compile of the whole run (training step, reset, evaluation).
    compile_s: float
    #: Compile with a warm persistent XLA cache (second run of the same scene and config).
    warm_compile_s: float
    #: Physics cost (see `physics_cost`) of the measured scene.
    cost: float
    note: str = ""
    #: False: a calibration guess kept here so other scenes can be scaled from it (labelled "estimate").
    measured: bool = True


#: Measured on this project's CI-like machine (2 shared CPU cores, 24 GiB) -- see bench/README.md.
MEASURED: dict[tuple[str, str, str], Throughput] = {
    ("CartpoleBalance", "cpu", "mjx"): Throughput(
        env_steps_per_s=110_000, compile_s=20.0, warm_compile_s=6.5, cost=3.0,
        note="bench/train_cpu.py, default CPU preset, 2 cores (load avg ~1.5): ~114 k env-steps/s; "
        "first evaluation (3 updates) at 20-23 s cold / 6.5-7.7 s warm XLA cache",
    ),
    ("PendulumSwingup", "cpu", "mjx"): Throughput(
        env_steps_per_s=55_000, compile_s=28.0, warm_compile_s=28.0, cost=10.0,
        note="tabrl train --steps standard, classic-control CPU preset (actions held twice), 2 cores with the "
        "test suite alongside (load avg 3-4): 53-81 k env-steps/s, 5.5 M steps in 97-126 s; first "
        "evaluation at 25-38 s",
    ),
    ("CartpoleSwingup", "cpu", "mjx"): Throughput(
        env_steps_per_s=55_000, compile_s=25.0, warm_compile_s=25.0, cost=7.0,
        note="tabrl train --steps standard, classic-control CPU preset (actions held twice), 2 cores with the "
        "test suite alongside (load avg 3-4): 46-85 k env-steps/s, 5.5 M steps in 106-156 s",
    ),
    ("Go1JoystickFlatTerrain", "cpu", "mujoco"): Throughput(
        env_steps_per_s=9_700, compile_s=25.0, warm_compile_s=20.0, cost=4 * (18 + 10),
        note="bench/train_go1_cpu.py, mujoco backend preset, 2 cores (load avg ~1.5): 10.0 k training "
        "env-steps/s (raw physics 15.8 k control steps/s), ~1.6 s per evaluation; setup (scene load, "
        "networks and reward jit) ~25 s in a fresh process",
    ),
    ("Go1JoystickFlatTerrain", "cpu", "mjx"): Throughput(
        env_steps_per_s=600, compile_s=300.0, warm_compile_s=120.0, cost=4 * (18 + 10),
        note="guess; one measured run: 2,560 steps end to end in 462 s cold (load avg ~8 on 2 cores), "
        "of which ~120 s training-step compile + update and ~170 s evaluation compile",
        measured=False,
    ),
}  # fmt: skip


@dataclass(frozen=True)
class TimeEstimate:
    """Expected wall time of a run, and what it is based on."""

    total_s: float
    compile_s: float
    train_s: float
    env_steps_per_s: float
    basis: Basis
    note: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return asdict(self)

    def describe(self) -> str:
        """'about 1 min (measured ...)' for people."""
        label = (
            "measured on a similar machine" if self.basis == "measured" else "rough estimate, not measured"
        )
        return f"about {format_duration(self.total_s)} ({label}: {self.env_steps_per_s:,.0f} env-steps/s)"


def physics_cost(mj_model: Any, n_substeps: int = 1) -> float:
    """Relative cost of one control step: substeps x (dofs + collision geoms)."""
    nv = int(getattr(mj_model, "nv", 1))
    contype = getattr(mj_model, "geom_contype", None)
    ncollide = int((contype != 0).sum()) if contype is not None else 0
    return float(max(1, n_substeps) * max(1, nv + ncollide))


def estimate(
    scene_id: str,
    device: str,
    num_timesteps: int,
    *,
    mj_model: Any = None,
    n_substeps: int = 1,
    warm_cache: bool = False,
    physics: str = "mjx",
    cost: float | None = None,
) -> TimeEstimate:
    """Wall time of a `num_timesteps` run of `scene_id` on `device` with the `physics` backend.

    Unmeasured scenes are scaled by physics cost: `cost` when given (e.g. from a robot card),
    else computed from `mj_model`.
    """
    measured = MEASURED.get((scene_id, device, physics))
    if measured is not None:
        basis: Basis = "measured" if measured.measured else "estimate"
        sps, compile_s, note = measured.env_steps_per_s, measured.compile_s, measured.note
        if warm_cache:
            compile_s = measured.warm_compile_s
    else:
        basis = "estimate"
        if cost is None:
            cost = physics_cost(mj_model, n_substeps) if mj_model is not None else 50.0
        sps, compile_s = _scaled(device, physics, cost, warm_cache)
        note = f"scaled from measured scenes by physics cost {cost:.0f}"
    train_s = num_timesteps / sps
    return TimeEstimate(
        total_s=compile_s + train_s,
        compile_s=compile_s,
        train_s=train_s,
        env_steps_per_s=sps,
        basis=basis,
        note=note,
    )


def scene_estimate(
    scene_id: str, device: str, preset: str = "standard", facts: dict[str, Any] | None = None
) -> tuple[int, str, TimeEstimate] | None:
    """Steps, backend and time of training a scene with a steps preset, without loading it.

    The gallery and `tabrl scenes list` show this on each scene: `MEASURED` throughput where measured,
    else scaled by the physics cost of the scene's card or of the shipped index
    (`tabrl.scenes.index`; pass `facts` when the caller has read them already); None when neither knows
    the scene (a person's MJCF not opened yet).
    """
    from tabrl.scenes.index import scene_facts
    from tabrl.training.config import backend_for, steps_for

    facts = facts if facts is not None else scene_facts(scene_id)
    if facts is None:
        return None
    physics = backend_for(scene_id, device, "")
    steps = steps_for(scene_id, preset, device, physics)
    return steps, physics, estimate(scene_id, device, steps, physics=physics, cost=facts["physics_cost"])


def _scaled(device: str, physics: str, cost: float, warm_cache: bool) -> tuple[float, float]:
    """Throughput and compile time for an unmeasured scene: log-linear in physics cost between measurements."""
    if physics == "mujoco":
        # MuJoCo C on threads: throughput inversely proportional to physics cost; nothing big to compile.
        ref = next(t for (_, d, p), t in MEASURED.items() if d == "cpu" and p == "mujoco")
        return max(
            ref.env_steps_per_s * ref.cost / cost, 1.0
        ), ref.warm_compile_s if warm_cache else ref.compile_s
    points = sorted((t.cost, t) for (_, d, p), t in MEASURED.items() if d == "cpu" and p == "mjx")
    (c0, t0), (c1, t1) = points[0], points[-1]
    # Throughput falls roughly as a power of cost; fit the exponent through the two CPU measurements.
    slope = math.log(t1.env_steps_per_s / t0.env_steps_per_s) / math.log(c1 / c0)
    sps = t0.env_steps_per_s * (cost / c0) ** slope
    frac = min(1.0, max(0.0, math.log(cost / c0) / math.log(c1 / c0)))
    compile_s = (t0.warm_compile_s if warm_cache else t0.compile_s) + frac * (
        (t1.warm_compile_s if warm_cache else t1.compile_s)
        - (t0.warm_compile_s if warm_cache else t0.compile_s)
    )
    if device != "cpu":
        # No GPU measurement yet: MJX on one modern GPU runs ~100-1000x a 2-core CPU at 2048+ envs.
        sps *= 200.0
        compile_s *= 0.6
    return max(sps, 1.0), compile_s


def format_duration(seconds: float) -> str:
    """'45 s', '3 min', '1.5 h'."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = [
    "MEASURED",
    "Throughput",
    "TimeEstimate",
    "estimate",
    "format_duration",
    "physics_cost",
    "scene_estimate",
]

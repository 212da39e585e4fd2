"""Shaping kernels injected into reward code: `tolerance` (dm_control semantics), `gaussian`, `exponential`.

They are plain `jax.numpy` functions, so they trace under `jit` / `vmap` like the rest
of a reward. `tolerance` follows `dm_control.utils.rewards.tolerance` exactly (same
sigmoids, same `value_at_margin` meaning) so rewards ported from dm_control keep their
shape.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import Array
from jax.typing import ArrayLike

_SIGMOIDS = (
    "gaussian",
    "hyperbolic",
    "long_tail",
    "reciprocal",
    "cosine",
    "linear",
    "quadratic",
    "tanh_squared",
)


def _sigmoid(x: Array, value_at_1: float, sigmoid: str) -> Array:
    if sigmoid in ("cosine", "linear", "quadratic"):
        if not 0 <= value_at_1 < 1:
            raise ValueError(
                f"tolerance(): value_at_margin must be in [0, 1) for {sigmoid!r}, got {value_at_1}"
            )
    elif not 0 < value_at_1 < 1:
        raise ValueError(f"tolerance(): value_at_margin must be strictly between 0 and 1, got {value_at_1}")
    if sigmoid == "gaussian":
        scale = jnp.sqrt(-2 * jnp.log(value_at_1))
        return jnp.exp(-0.5 * (x * scale) ** 2)
    if sigmoid == "hyperbolic":
        return 1 / jnp.cosh(x * jnp.arccosh(1 / value_at_1))
    if sigmoid == "long_tail":
        return 1 / ((x * jnp.sqrt(1 / value_at_1 - 1)) ** 2 + 1)
    if sigmoid == "reciprocal":
        return 1 / (jnp.abs(x) * (1 / value_at_1 - 1) + 1)
    if sigmoid == "cosine":
        scaled = x * jnp.arccos(2 * value_at_1 - 1) / jnp.pi
        return jnp.where(jnp.abs(scaled) < 1, (1 + jnp.cos(jnp.pi * scaled)) / 2, 0.0)
    if sigmoid == "linear":
        scaled = x * (1 - value_at_1)
        return jnp.where(jnp.abs(scaled) < 1, 1 - scaled, 0.0)
    if sigmoid == "quadratic":
        scaled = x * jnp.sqrt(1 - value_at_1)
        return jnp.where(jnp.abs(scaled) < 1, 1 - scaled**2, 0.0)
    if sigmoid == "tanh_squared":
        return 1 - jnp.tanh(x * jnp.arctanh(jnp.sqrt(1 - value_at_1))) ** 2
    raise ValueError(f"tolerance(): unknown sigmoid {sigmoid!r}; use one of {', '.join(_SIGMOIDS)}")


def _number(value: object, what: str) -> float:
    # Bounds and margins shape the kernel; they must be known when the reward is compiled.
    try:
        return float(value)  # type: ignore[arg-type]
    except Exception:
        raise ValueError(
            f"tolerance(): {what} must be a plain number (like 0.5), not a value computed from the state"
        ) from None


def tolerance(
    x: ArrayLike,
    bounds: tuple[float, float] = (0.0, 0.0),
    margin: float = 0.0,
    sigmoid: str = "gaussian",
    value_at_margin: float = 0.1,
) -> Array:
    """1 inside `bounds`, falling smoothly to `value_at_margin` at distance `margin` outside.

    With `margin == 0` the result is 1 inside the bounds and 0 outside. Bounds may be
    infinite (`(0.5, jnp.inf)` means "at least 0.5").
    """
    if not isinstance(bounds, tuple | list) or len(bounds) != 2:
        raise ValueError("tolerance(): bounds must be a pair (lower, upper), e.g. bounds=(0.2, 0.4)")
    lower, upper = _number(bounds[0], "bounds[0]"), _number(bounds[1], "bounds[1]")
    margin = _number(margin, "margin")
    if lower > upper:
        raise ValueError(f"tolerance(): lower bound {lower} is above upper bound {upper}; swap them")
    if margin < 0:
        raise ValueError(f"tolerance(): margin must be >= 0, got {margin}")
    x = jnp.asarray(x, dtype=jnp.float32)
    inside = jnp.logical_and(lower <= x, x <= upper)
    if margin == 0:
        return jnp.where(inside, 1.0, 0.0)
    distance = jnp.where(x < lower, lower - x, x - upper) / margin
    return jnp.where(inside, 1.0, _sigmoid(distance, _number(value_at_margin, "value_at_margin"), sigmoid))


def gaussian(x: ArrayLike, sigma: float) -> Array:
    """exp(-0.5 (x / sigma)^2): 1 at x = 0, about 0.61 at |x| = sigma."""
    return jnp.exp(-0.5 * jnp.square(jnp.asarray(x, dtype=jnp.float32) / sigma))


def exponential(x: ArrayLike, scale: float) -> Array:
    """exp(-|x| / scale): 1 at x = 0, about 0.37 at |x| = scale."""
    return jnp.exp(-jnp.abs(jnp.asarray(x, dtype=jnp.float32)) / scale)


def schedule(t: ArrayLike, segments: object, loop: bool = False) -> Array:
    """The value of the segment active at time `t` (seconds).

    `segments` is a list of `(duration_s, value)` pairs, e.g. a command program's choreography
    `[(2.0, (0.6, 0.0, 0.0)), (1.6, (0.0, 0.0, 1.0))]`: walk 2 s, then turn 1.6 s. After the last
    segment the value is 0 (stand still), or the list starts again with `loop=True`.
    """
    if not isinstance(segments, list | tuple) or not segments:
        raise ValueError("schedule(): segments must be a non-empty list of (duration_s, value) pairs")
    durations, values = [], []
    for item in segments:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            raise ValueError("schedule(): each segment must be a pair (duration_s, value)")
        duration = _number(item[0], "schedule() duration")
        if duration <= 0:
            raise ValueError(f"schedule(): durations must be > 0 seconds, got {duration}")
        durations.append(duration)
        values.append(jnp.asarray(item[1], jnp.float32))
    shapes = {v.shape for v in values}
    if len(shapes) != 1:
        raise ValueError("schedule(): every segment's value must have the same shape, e.g. 3 numbers")
    ends = jnp.cumsum(jnp.asarray(durations, jnp.float32))
    t = jnp.asarray(t, jnp.float32)
    if loop:
        t = jnp.mod(t, ends[-1])
    table = jnp.concatenate([jnp.stack(values), jnp.zeros((1, *values[0].shape), jnp.float32)])
    index = jnp.searchsorted(ends, t, side="right")
    return table[jnp.minimum(index, len(values))]

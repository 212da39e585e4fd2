"""Command programs (level 1): choreography for a joystick policy, in the reward language.

A command program defines `command(t)` returning the velocity command at time `t` (seconds since
the start): forward m/s, sideways m/s (left positive), yaw rate rad/s (counter-clockwise positive).
It is checked by the same sandbox as reward code (AST allow-list, instrumented, time-limited) and
traced by JAX, so it runs unchanged in the host loop of a video, the live view and a fine-tune:

    def command(t):
        # walk a square: 2.5 s straight, then a quarter turn (pi/2 rad at 1 rad/s), 4 times
        return schedule(t, [(2.5, (0.6, 0.0, 0.0)), (pi / 2, (0.0, 0.0, 1.0))] * 4)

`schedule(t, [(duration_s, value), ...], loop=False)` is injected for step-wise choreography; jnp
(`jnp.sin(t)`, `jnp.where(t < 3, a, b)`) for smooth or conditional ones.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tabrl.rewards import sandbox
from tabrl.rewards.result import RewardCompileError, RewardError

#: Seconds over which a program is checked (and sampled for its preview).
CHECK_SECONDS = 60.0
#: The program a joystick policy follows while fine-tuned to a reward without one: stand still, so
#: the reward alone says what to do and the command input stays what the base knows as "stay".
STAND_STILL = "def command(t):\n    return (0.0, 0.0, 0.0)\n"
_AXES = ("forward m/s", "sideways m/s", "yaw rad/s")


@dataclass(frozen=True)
class CommandCheck:
    """Outcome of `check_commands`: valid or not, errors (with lines), warnings (clipping)."""

    valid: bool
    errors: list[RewardError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        return {
            "valid": self.valid,
            "errors": [e.to_dict() for e in self.errors],
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class CommandProgram:
    """A checked command program: call it with times (seconds, any shape) for (..., 3) commands."""

    code: str
    fn: Callable[[Any], Any]
    command_range: tuple[float, float, float] | None = None

    def __call__(self, t: Any) -> np.ndarray:
        """Commands at times `t` (clipped to `command_range` when it is set)."""
        value = np.asarray(self.fn(np.asarray(t, np.float32)), np.float32)
        if self.command_range is not None:
            limit = np.asarray(self.command_range, np.float32)
            value = np.clip(value, -limit, limit)
        return value

    def sample(self, seconds: float, dt: float) -> np.ndarray:
        """(steps, 3): the commands every `dt` over `seconds` (a preview, or a video's schedule)."""
        return self(np.arange(max(1, round(seconds / dt)), dtype=np.float32) * np.float32(dt))


def _vectorised(fn: Callable[[Any], Any], time_limit_s: float) -> Callable[[Any], Any]:
    import jax
    import jax.numpy as jnp

    def one(t: Any) -> Any:
        with sandbox.Budget(time_limit_s):
            out = fn(t)
        if isinstance(out, list | tuple):
            if len(out) != 3:
                raise ValueError(f"command(t) must return 3 numbers (forward, sideways, yaw); got {len(out)}")
            out = jnp.stack([jnp.asarray(v, jnp.float32).reshape(()) for v in out])
        out = jnp.asarray(out, jnp.float32)
        if out.shape != (3,):
            raise ValueError(
                f"command(t) must return 3 numbers (forward m/s, sideways m/s, yaw rad/s); got shape {out.shape}"
            )
        return out

    batched = jax.jit(jax.vmap(one))

    def call(t: Any) -> Any:
        t = np.asarray(t, np.float32)
        return np.asarray(batched(t.reshape(-1))).reshape(*t.shape, 3)

    return call


def _compile(
    code: str, command_range: tuple[float, float, float] | None, time_limit_s: float
) -> tuple[CommandProgram | None, list[RewardError], list[str]]:
    ns, errors = sandbox.load(code, time_limit_s, contract="command")
    if ns is None:
        return None, errors, []
    fn = ns[sandbox.COMMAND_FUNCTION]
    try:
        call = _vectorised(fn, time_limit_s)
        times = np.linspace(0.0, CHECK_SECONDS, int(CHECK_SECONDS * 50) + 1, dtype=np.float32)
        values = call(times)
    except Exception as exc:
        return None, [sandbox.error_from_exception(exc, "while running command(t)")], []
    line = next((i for i, text in enumerate(code.splitlines(), 1) if "def command" in text), None)
    bad = ~np.isfinite(values).all(axis=1)
    if bad.any():
        at = float(times[np.argmax(bad)])
        return None, [RewardError(line, f"command(t) is not finite at t = {at:.2f} s (NaN or inf); "
                                        "guard divisions, e.g. x / (y + 1e-6)")], []  # fmt: skip
    warnings = []
    if command_range is not None:
        for axis, limit in enumerate(command_range):
            peak = float(np.abs(values[:, axis]).max())
            if peak > limit + 1e-6:
                warnings.append(
                    f"{_AXES[axis]} reaches {peak:.2f}, beyond the base policy's +-{limit:g}: it is clipped"
                )
    return CommandProgram(code=code, fn=call, command_range=command_range), [], warnings


def check_commands(
    code: str,
    command_range: tuple[float, float, float] | None = None,
    time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S,
) -> CommandCheck:
    """Check a command program (never raises because of the program); `command_range`: the base
    policy's limits, beyond which commands are clipped (a warning)."""
    _, errors, warnings = _compile(code, command_range, time_limit_s)
    return CommandCheck(valid=not errors, errors=errors, warnings=warnings)


def compile_commands(
    code: str,
    command_range: tuple[float, float, float] | None = None,
    time_limit_s: float = sandbox.DEFAULT_TIME_LIMIT_S,
) -> CommandProgram:
    """Check and compile a command program; raises RewardCompileError (lines and fixes) when invalid."""
    program, errors, _ = _compile(code, command_range, time_limit_s)
    if program is None:
        raise RewardCompileError(errors, "command program")
    return program


__all__ = [
    "CHECK_SECONDS",
    "STAND_STILL",
    "CommandCheck",
    "CommandProgram",
    "check_commands",
    "compile_commands",
]

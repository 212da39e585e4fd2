"""Phase 3, the run-time guards: the per-run `Budget`, the functions the instrumented code calls
(`__tabrl_tick`, `__tabrl_iter`, `__tabrl_binop`), the minimal builtins, the `jnp` proxy, and the
namespace reward code executes in.

`_binop` refuses the single operations that could block for a long time or exhaust memory: huge
integers (`9 ** 9 ** 9`), sequence repetition / concatenation beyond a size, and `%`-formatting.
The code runs with `SAFE_BUILTINS` only and the injected names `jnp` (`JNP`, a proxy exposing only an
allow-list of `jax.numpy`), `tolerance`, `gaussian`, `exponential`, `schedule`, `pi`.
"""

from __future__ import annotations

import math
import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jax.numpy as jnp

from tabrl.rewards import kernels
from tabrl.rewards.sandbox.allowlist import (
    DEFAULT_TIME_LIMIT_S,
    JNP_CONSTANTS,
    JNP_FUNCTIONS,
    MAX_INT_BITS,
    MAX_RANGE,
    MAX_SEQUENCE,
    MAX_TICKS,
    MAX_TOTAL_ITEMS,
)


class SandboxLimitError(RuntimeError):
    """Reward code exceeded a sandbox limit at run time (time, steps, sizes)."""


class Budget:
    """A per-thread allowance of time and steps for one run of reward code."""

    _local = threading.local()

    def __init__(self, time_limit_s: float = DEFAULT_TIME_LIMIT_S, max_ticks: int = MAX_TICKS) -> None:
        self.time_limit_s = time_limit_s
        self.max_ticks = max_ticks
        self.deadline = 0.0
        self.ticks = 0
        self.items = 0
        self._saved: list[Budget | None] = []

    def __enter__(self) -> Budget:
        self.deadline = time.monotonic() + self.time_limit_s
        self.ticks = 0
        self.items = 0
        self._saved.append(getattr(Budget._local, "current", None))
        Budget._local.current = self
        return self

    def __exit__(self, *exc: object) -> None:
        Budget._local.current = self._saved.pop()

    def tick(self) -> None:
        """Charge one step; raise when over the step count or past the deadline."""
        self.ticks += 1
        if self.ticks > self.max_ticks:
            raise SandboxLimitError(
                f"reward code ran more than {self.max_ticks} loop iterations / function calls; "
                "use vectorised jnp operations instead of Python loops"
            )
        if (self.ticks & 63) == 0 and time.monotonic() > self.deadline:
            raise SandboxLimitError(
                f"reward code took longer than {self.time_limit_s:g} s to trace; "
                "remove long Python loops and use jnp operations"
            )

    def charge_items(self, n: int) -> None:
        """Account for `n` list/tuple/str items built; memory is bounded by the total, not per step."""
        self.items += max(int(n), 0)
        if self.items > MAX_TOTAL_ITEMS:
            raise SandboxLimitError(
                f"reward code built more than {MAX_TOTAL_ITEMS} list/tuple/string items; "
                "use jnp arrays from the state instead of large Python lists"
            )

    @staticmethod
    def current() -> Budget:
        """The active budget (a default one if none was entered, so code is never unbounded)."""
        budget = getattr(Budget._local, "current", None)
        if budget is None:
            raise SandboxLimitError("reward code must run inside a Budget (internal error)")
        return budget


def _tick() -> None:
    Budget.current().tick()


def _iter(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = Budget.current()
    for item in iterable:
        budget.tick()
        yield item


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "@": operator.matmul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "<<": operator.lshift,
    ">>": operator.rshift,
    "|": operator.or_,
    "^": operator.xor,
    "&": operator.and_,
}


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _seq_len(x: Any) -> int | None:
    return len(x) if isinstance(x, str | list | tuple | bytes) else None


def _binop(op: str, a: Any, b: Any) -> Any:
    """`a op b`, refusing the single operations that could run for long or exhaust memory."""
    if op == "%" and isinstance(a, str | bytes):
        raise SandboxLimitError("string formatting with % is not allowed")
    if op == "*":
        for seq, n in ((a, b), (b, a)):
            size = _seq_len(seq)
            if size is not None and _is_int(n) and size * max(n, 0) > MAX_SEQUENCE:
                raise SandboxLimitError(
                    f"repeating a sequence to {size * n} items; the limit is {MAX_SEQUENCE}"
                )
    if op == "+":
        la, lb = _seq_len(a), _seq_len(b)
        if la is not None and lb is not None and la + lb > MAX_SEQUENCE:
            raise SandboxLimitError(f"joining sequences to {la + lb} items; the limit is {MAX_SEQUENCE}")
    if _is_int(a) and _is_int(b):
        _check_int_op(op, a, b)
    try:
        result = _OPERATORS[op](a, b)
    except OverflowError:
        raise SandboxLimitError(f"number overflow in `{op}`; keep constants small") from None
    size = _seq_len(result)
    if size is not None:
        Budget.current().charge_items(size)
    return result


def _check_int_op(op: str, a: int, b: int) -> None:
    bits_a, bits_b = a.bit_length(), b.bit_length()
    if op == "**" and b > 0 and bits_a * b > MAX_INT_BITS:
        raise SandboxLimitError(f"integer power {a} ** {b} is too large; use floats (e.g. {a}.0 ** {b})")
    if op == "*" and bits_a + bits_b > MAX_INT_BITS:
        raise SandboxLimitError("integer product too large; use floats")
    if op == "<<" and bits_a + b > MAX_INT_BITS:
        raise SandboxLimitError("integer shift too large")


def _safe_range(*args: Any) -> range:
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise SandboxLimitError(f"range of {len(r)} items; reward code may loop at most {MAX_RANGE} times")
    return r


def _charged(builder: Callable[..., Any]) -> Callable[..., Any]:
    """A container builtin (list, tuple, dict, sorted) that charges its result's size to the budget."""

    def build(*args: Any, **kwargs: Any) -> Any:
        budget = Budget.current()
        budget.tick()
        out = builder(*args, **kwargs)
        budget.charge_items(len(out))
        return out

    build.__name__ = builder.__name__
    return build


def _safe_sum(values: Iterable[Any], start: Any = 0) -> Any:
    if isinstance(start, str | list | tuple | bytes):
        raise SandboxLimitError("sum() adds numbers or arrays only")
    total = start
    budget = Budget.current()
    for v in values:
        budget.tick()
        if isinstance(v, str | list | tuple | bytes):
            raise SandboxLimitError("sum() adds numbers or arrays only; use jnp.concatenate for arrays")
        total = total + v
    return total


SAFE_BUILTINS: dict[str, Any] = {
    "abs": abs,
    "min": min,
    "max": max,
    "float": float,
    "int": int,
    "range": _safe_range,
    "len": len,
    "sum": _safe_sum,
    "dict": _charged(dict),
    "list": _charged(list),
    "tuple": _charged(tuple),
    "zip": zip,
    "enumerate": enumerate,
    "bool": bool,
    "round": round,
    "any": any,
    "all": all,
    "sorted": _charged(sorted),
    "reversed": reversed,
    "True": True,
    "False": False,
    "None": None,
}


def _count_leaves(value: Any, limit: int) -> int:
    """Elements in nested Python lists/tuples (stops counting past `limit`)."""
    count, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            if count + len(item) > limit:
                return limit + 1
            stack.extend(item)
        count += 1
        if count > limit:
            break
    return count


class _Namespace:
    """A read-only attribute bag (the `jnp` proxy and its `linalg`)."""

    def __init__(self, label: str, members: dict[str, Any]) -> None:
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_members", members)
        for k, v in members.items():
            object.__setattr__(self, k, v)

    def __setattr__(self, name: str, value: Any) -> None:
        raise SandboxLimitError(f"{self._label} is read-only")

    def __repr__(self) -> str:
        return f"<{self._label}>"


def _guarded(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        Budget.current().tick()
        for value in (*args, *kwargs.values()):
            if isinstance(value, list | tuple) and _count_leaves(value, MAX_SEQUENCE) > MAX_SEQUENCE:
                raise SandboxLimitError(f"jnp.{name}() got a Python list with more than {MAX_SEQUENCE} items")
        return fn(*args, **kwargs)

    call.__name__ = name
    call.__doc__ = getattr(fn, "__doc__", None)
    return call


def _make_jnp() -> _Namespace:
    members: dict[str, Any] = {}
    for name in JNP_FUNCTIONS:
        if name == "norm":
            members[name] = _guarded(name, jnp.linalg.norm)
        elif name in ("float32", "int32", "bool_"):
            members[name] = getattr(jnp, name)
        else:
            members[name] = _guarded(name, getattr(jnp, name))
    for name in JNP_CONSTANTS:
        members[name] = getattr(jnp, name)
    members["linalg"] = _Namespace("jnp.linalg", {"norm": _guarded("linalg.norm", jnp.linalg.norm)})
    return _Namespace("jnp", members)


JNP = _make_jnp()


def namespace() -> dict[str, Any]:
    """A fresh global namespace for one reward module."""
    return {
        "__builtins__": dict(SAFE_BUILTINS),
        "__name__": "reward",
        "jnp": JNP,
        "tolerance": kernels.tolerance,
        "gaussian": kernels.gaussian,
        "exponential": kernels.exponential,
        "schedule": kernels.schedule,
        "pi": math.pi,
        "__tabrl_tick": _tick,
        "__tabrl_iter": _iter,
        "__tabrl_binop": _binop,
    }

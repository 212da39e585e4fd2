"""All phases for one program: `load` checks, instruments and executes it inside a `Budget`; and
run-time exceptions of reward code become actionable `RewardError`s (`error_from_exception`)."""

from __future__ import annotations

from typing import Any

from tabrl.rewards.result import RewardError
from tabrl.rewards.sandbox.allowlist import DEFAULT_TIME_LIMIT_S, FILENAME
from tabrl.rewards.sandbox.checker import parse, validate
from tabrl.rewards.sandbox.guards import Budget, SandboxLimitError, namespace
from tabrl.rewards.sandbox.instrumenter import instrument


def load(
    code: str, time_limit_s: float = DEFAULT_TIME_LIMIT_S, contract: str = "reward"
) -> tuple[dict[str, Any] | None, list[RewardError]]:
    """Check, instrument and execute a reward module (or a command program: `contract="command"`, or
    a success check: `contract="success"`); its namespace, or the errors."""
    tree, errors = parse(code)
    if tree is None:
        return None, errors
    errors = validate(tree, contract)
    if errors:
        return None, errors
    try:
        compiled = compile(instrument(tree), FILENAME, "exec")
    except (SyntaxError, RecursionError, ValueError) as exc:
        return None, [RewardError(getattr(exc, "lineno", None), f"reward code does not compile: {exc}")]
    env = namespace()
    try:
        with Budget(time_limit_s):
            exec(compiled, env)  # safe: the tree passed validate() and runs with SAFE_BUILTINS only
    except Exception as exc:
        return None, [error_from_exception(exc, "while defining the module")]
    return env, []


# --- turning exceptions into actionable errors ---------------------------------------------


def line_of(exc: BaseException) -> int | None:
    """The line of the innermost frame of reward code in `exc`'s traceback."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    if line is None and isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        line = exc.lineno
    return line


def error_from_exception(exc: BaseException, where: str) -> RewardError:
    """A RewardError with the line and a how-to-fix hint for an exception raised by reward code."""
    import jax

    from tabrl.rewards.state import RewardAPIError

    line = line_of(exc)
    text = str(exc).strip().split("\n")[0][:300]
    if isinstance(exc, jax.errors.TracerBoolConversionError):
        message = (
            "a Python `if`, `and`, `or`, `not`, `min`/`max` or comparison chain used a traced value (the "
            "state, or t in a command program); the code is traced by JAX, so write jnp.where(cond, a, b), jnp.logical_and(a, b), "
            "jnp.minimum/jnp.maximum or tolerance(...) instead"
        )
    elif isinstance(exc, jax.errors.TracerIntegerConversionError | jax.errors.ConcretizationTypeError):
        message = (
            "a state value was used where Python needs a concrete number (float(), int(), range(), list "
            "index, or a shape); keep it as a JAX array and use jnp functions (jnp.where, jnp.clip...)"
        )
    elif isinstance(exc, RewardAPIError | SandboxLimitError):
        message = text
    elif isinstance(exc, NameError):
        message = f"{text}; only s, action, jnp, tolerance, gaussian, exponential and pi are predefined"
    elif isinstance(exc, RecursionError):
        message = "recursion is too deep; use a for loop over range(n) instead"
    elif isinstance(exc, MemoryError):
        message = "reward code used too much memory; work with small arrays"
    elif isinstance(exc, ZeroDivisionError):
        message = f"division by zero ({text}); add a small constant to the divisor, e.g. x / (y + 1e-6)"
    else:
        message = f"{type(exc).__name__}: {text}"
    return RewardError(line, f"{message} ({where})")

"""The reward sandbox: an AST allow-list, guarded execution, and a cooperative time budget.

Reward code comes from an LLM or a person, so nothing in it runs before its syntax tree
passed `validate()`: no imports, no names or attributes starting with `_`, only
attributes from a fixed allow-list (the `s` API, array methods, `jnp` functions), no
`while` / `lambda` / nested functions / classes / `try` / `with` / f-strings, no
recursion between top-level functions, top-level code limited to function definitions
and literal constants, and limits on size, nesting and literals.

The accepted tree is then *instrumented* before it is compiled:

- every function entry and every loop iteration calls `__tabrl_tick()`, which charges a
  per-call budget (a wall-clock deadline and a step count, kept per thread);
- every `for` / comprehension iterable goes through `__tabrl_iter()` (ticks per item);
- every binary operator goes through `__tabrl_binop()`, which refuses the C-level
  operations that could block for a long time or exhaust memory in one step: huge
  integers (`9 ** 9 ** 9`), sequence repetition / concatenation beyond a size, and
  `%`-formatting.

Why a cooperative budget instead of a signal or a subprocess: reward code runs while JAX
traces it, possibly in a server worker thread where `signal.alarm` is unavailable, and a
subprocess would re-import JAX and rebuild the scene (seconds). With no `while`, bounded
`range`, ticks on every loop iteration and function entry, and guarded operators, every
uninterruptible step is small, so checking the deadline between steps bounds the whole
run. What JAX builds from the trace is bounded separately (the compiler rejects jaxprs
with too many equations or too-large arrays before XLA compiles anything).

The code runs with a minimal set of builtins and the injected names `jnp` (a proxy that
only exposes an allow-list of `jax.numpy`), `tolerance`, `gaussian`, `exponential`, `pi`.

The package is split by phase; each module only imports the ones listed before it:

- `allowlist`: the rules as data (limits, the names a program defines, allowed attributes and names,
  forbidden syntax);
- `checker`: phase 1, `parse` and `validate` (the static check of the syntax tree);
- `instrumenter`: phase 2, `instrument` (ticks and operator guards added to the checked tree);
- `guards`: phase 3, what the instrumented code runs with (`Budget`, guarded operators and builtins,
  the `jnp` proxy, `namespace()`);
- `run`: all phases for one program (`load`) and run-time exceptions turned into `RewardError`s.

Import from `tabrl.rewards.sandbox` itself: it re-exports the public names of every phase.
"""

from __future__ import annotations

from tabrl.rewards.sandbox.allowlist import (
    ALLOWED_ATTRIBUTES,
    COMMAND_FUNCTION,
    DEFAULT_TIME_LIMIT_S,
    FILENAME,
    FORBIDDEN_NAMES,
    GOALS_NAME,
    INJECTED,
    JNP_CONSTANTS,
    JNP_FUNCTIONS,
    MAX_COLLECTION_LITERAL,
    MAX_DEPTH,
    MAX_INT_BITS,
    MAX_INT_LITERAL,
    MAX_LINES,
    MAX_NODES,
    MAX_RANGE,
    MAX_SEQUENCE,
    MAX_SOURCE_CHARS,
    MAX_STR_LITERAL,
    MAX_TICKS,
    MAX_TOTAL_ITEMS,
    MEASURE_FUNCTION,
    OPTIONAL_FUNCTION,
    REQUIRED_FUNCTION,
    SAFE_BUILTIN_NAMES,
    SETTLE_NAME,
    VALUE_ATTRIBUTES,
    WEIGHTS_NAME,
)
from tabrl.rewards.sandbox.checker import parse, validate
from tabrl.rewards.sandbox.guards import JNP, SAFE_BUILTINS, Budget, SandboxLimitError, namespace
from tabrl.rewards.sandbox.instrumenter import instrument
from tabrl.rewards.sandbox.run import error_from_exception, line_of, load

__all__ = [
    "ALLOWED_ATTRIBUTES",
    "COMMAND_FUNCTION",
    "DEFAULT_TIME_LIMIT_S",
    "FILENAME",
    "FORBIDDEN_NAMES",
    "GOALS_NAME",
    "INJECTED",
    "JNP",
    "JNP_CONSTANTS",
    "JNP_FUNCTIONS",
    "MAX_COLLECTION_LITERAL",
    "MAX_DEPTH",
    "MAX_INT_BITS",
    "MAX_INT_LITERAL",
    "MAX_LINES",
    "MAX_NODES",
    "MAX_RANGE",
    "MAX_SEQUENCE",
    "MAX_SOURCE_CHARS",
    "MAX_STR_LITERAL",
    "MAX_TICKS",
    "MAX_TOTAL_ITEMS",
    "MEASURE_FUNCTION",
    "OPTIONAL_FUNCTION",
    "REQUIRED_FUNCTION",
    "SAFE_BUILTINS",
    "SAFE_BUILTIN_NAMES",
    "SETTLE_NAME",
    "VALUE_ATTRIBUTES",
    "WEIGHTS_NAME",
    "Budget",
    "SandboxLimitError",
    "error_from_exception",
    "instrument",
    "line_of",
    "load",
    "namespace",
    "parse",
    "validate",
]

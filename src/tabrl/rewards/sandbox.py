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
"""

from __future__ import annotations

import ast
import math
import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jax.numpy as jnp

from tabrl.errors import closest
from tabrl.rewards import kernels
from tabrl.rewards.result import RewardError
from tabrl.rewards.state import STATE_API

# --- limits ---------------------------------------------------------------------------------

MAX_SOURCE_CHARS = 20_000
MAX_LINES = 600
MAX_NODES = 6_000
MAX_DEPTH = 40  # syntax-tree depth (statements and expressions together)
MAX_STR_LITERAL = 200
MAX_INT_LITERAL = 10**15
MAX_COLLECTION_LITERAL = 256
MAX_RANGE = 1_000
MAX_SEQUENCE = 10_000  # longest list / tuple / string an operator may build
MAX_INT_BITS = 256
MAX_TICKS = 200_000  # function entries + loop iterations per run
MAX_TOTAL_ITEMS = 2_000_000  # list/tuple/str items built by operators and builtins per run
DEFAULT_TIME_LIMIT_S = 10.0

FILENAME = "<reward>"
REQUIRED_FUNCTION = "compute_reward"
#: The function a command program (level 1: velocity commands for a joystick policy) defines.
COMMAND_FUNCTION = "command"
OPTIONAL_FUNCTION = "is_terminated"
WEIGHTS_NAME = "WEIGHTS"
#: What a success check defines: `measure(s)` (named per-step values), `GOALS` (name -> "> 0.3"),
#: optionally `SETTLE_S` (seconds at the start a rollout is not judged on).
MEASURE_FUNCTION = "measure"
GOALS_NAME = "GOALS"
SETTLE_NAME = "SETTLE_S"

# --- what code may name -------------------------------------------------------------------

#: `jax.numpy` members reward code may use (everything else, e.g. `jnp.load`, is absent).
JNP_FUNCTIONS = (
    "abs",
    "absolute",
    "all",
    "any",
    "arange",
    "arccos",
    "arcsin",
    "arctan",
    "arctan2",
    "arccosh",
    "arcsinh",
    "arctanh",
    "argmax",
    "argmin",
    "around",
    "array",
    "asarray",
    "clip",
    "concatenate",
    "cos",
    "cosh",
    "cross",
    "cumsum",
    "deg2rad",
    "degrees",
    "diag",
    "diff",
    "dot",
    "einsum",
    "equal",
    "exp",
    "exp2",
    "expand_dims",
    "expm1",
    "eye",
    "fabs",
    "floor",
    "ceil",
    "fmod",
    "full",
    "full_like",
    "greater",
    "greater_equal",
    "heaviside",
    "hstack",
    "hypot",
    "inner",
    "isfinite",
    "isnan",
    "less",
    "less_equal",
    "linspace",
    "log",
    "log10",
    "log1p",
    "log2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "matmul",
    "max",
    "maximum",
    "mean",
    "median",
    "min",
    "minimum",
    "mod",
    "multiply",
    "nan_to_num",
    "norm",
    "not_equal",
    "ones",
    "ones_like",
    "outer",
    "power",
    "prod",
    "rad2deg",
    "radians",
    "ravel",
    "reciprocal",
    "remainder",
    "reshape",
    "round",
    "sign",
    "sin",
    "sinc",
    "sinh",
    "sqrt",
    "square",
    "squeeze",
    "stack",
    "std",
    "sum",
    "take",
    "tan",
    "tanh",
    "tile",
    "trace",
    "transpose",
    "var",
    "vstack",
    "where",
    "zeros",
    "zeros_like",
    "float32",
    "int32",
    "bool_",
)
JNP_CONSTANTS = ("pi", "e", "inf", "nan")
#: Methods / properties of arrays, dicts and lists that are safe on any object reachable from reward code.
VALUE_ATTRIBUTES = (
    "T",
    "all",
    "any",
    "argmax",
    "argmin",
    "astype",
    "at",
    "clip",
    "cumsum",
    "dot",
    "dtype",
    "flatten",
    "get",
    "items",
    "keys",
    "max",
    "mean",
    "min",
    "ndim",
    "prod",
    "ravel",
    "reshape",
    "round",
    "set",
    "add",
    "multiply",
    "shape",
    "size",
    "squeeze",
    "std",
    "sum",
    "transpose",
    "values",
    "var",
    "append",
    "linalg",
    "norm",
)
ALLOWED_ATTRIBUTES = (
    frozenset(STATE_API) | frozenset(JNP_FUNCTIONS) | frozenset(JNP_CONSTANTS) | frozenset(VALUE_ATTRIBUTES)
)

INJECTED = ("jnp", "tolerance", "gaussian", "exponential", "schedule", "pi")
SAFE_BUILTIN_NAMES = (
    "abs",
    "min",
    "max",
    "float",
    "int",
    "range",
    "len",
    "sum",
    "dict",
    "list",
    "tuple",
    "zip",
    "enumerate",
    "bool",
    "round",
    "any",
    "all",
    "sorted",
    "reversed",
    "True",
    "False",
    "None",
)
FORBIDDEN_NAMES = {
    "exec": "runs arbitrary code",
    "eval": "runs arbitrary code",
    "compile": "runs arbitrary code",
    "open": "touches files",
    "input": "waits for a person",
    "print": "has side effects; return values instead",
    "breakpoint": "stops the program",
    "getattr": "reaches arbitrary attributes",
    "setattr": "modifies objects",
    "delattr": "modifies objects",
    "hasattr": "probes attributes",
    "globals": "exposes the interpreter",
    "locals": "exposes the interpreter",
    "vars": "exposes objects",
    "dir": "exposes objects",
    "type": "reaches classes",
    "object": "reaches classes",
    "super": "reaches classes",
    "help": "is interactive",
    "memoryview": "exposes memory",
    "bytearray": "is not needed",
    "bytes": "is not needed",
    "exit": "stops the program",
    "quit": "stops the program",
    "id": "exposes the interpreter",
    "hash": "is not needed",
    "iter": "is not needed",
    "next": "is not needed",
    "callable": "is not needed",
    "isinstance": "is not needed",
    "issubclass": "reaches classes",
    "classmethod": "reaches classes",
    "staticmethod": "reaches classes",
    "property": "reaches classes",
    "format": "formats strings",
    "repr": "is not needed",
    "str": "is not needed",
    "chr": "is not needed",
    "ord": "is not needed",
    "map": "use a list comprehension",
    "filter": "use a list comprehension",
    "pow": "use **",
    "np": "numpy is not available; use jnp",
    "numpy": "numpy is not available; use jnp",
    "os": "the operating system is not reachable",
    "sys": "the interpreter is not reachable",
    "jax": "use jnp (already imported)",
    "math": "use jnp (jnp.sqrt, jnp.pi...)",
}

_FORBIDDEN_NODES: dict[type, str] = {
    ast.Import: "imports are not allowed; jnp, tolerance, gaussian, exponential and pi are already available",
    ast.ImportFrom: "imports are not allowed; jnp, tolerance, gaussian, exponential and pi are already available",
    ast.While: "`while` loops are not allowed; use `for i in range(n)` with a small n, or jnp operations",
    ast.Lambda: "`lambda` is not allowed; define a small top-level function instead",
    ast.ClassDef: "classes are not allowed; use top-level functions and dicts",
    ast.AsyncFunctionDef: "async functions are not allowed",
    ast.Await: "await is not allowed",
    ast.AsyncFor: "async for is not allowed",
    ast.AsyncWith: "async with is not allowed",
    ast.With: "`with` is not allowed",
    ast.Try: "try/except is not allowed; reward code must not fail, guard values with jnp.where/jnp.clip",
    ast.Raise: "raise is not allowed; return a large negative term or define is_terminated(s) instead",
    ast.Assert: "assert is not allowed; reward code cannot stop training",
    ast.Global: "global is not allowed; return values instead",
    ast.Nonlocal: "nonlocal is not allowed",
    ast.Delete: "del is not allowed",
    ast.Yield: "generators (yield) are not allowed; return a dict of terms",
    ast.YieldFrom: "generators (yield from) are not allowed",
    ast.NamedExpr: "the walrus operator := is not allowed; assign on its own line",
    ast.JoinedStr: "f-strings are not allowed; reward code only needs strings as names",
    ast.FormattedValue: "f-strings are not allowed",
    ast.Match: "match statements are not allowed; use jnp.where",
}
if hasattr(ast, "TryStar"):
    _FORBIDDEN_NODES[ast.TryStar] = _FORBIDDEN_NODES[ast.Try]

_ALLOWED_NODES = (
    ast.Module,
    ast.FunctionDef,
    ast.arguments,
    ast.arg,
    ast.Return,
    ast.Assign,
    ast.AugAssign,
    ast.AnnAssign,
    ast.For,
    ast.If,
    ast.Pass,
    ast.Break,
    ast.Continue,
    ast.Expr,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.IfExp,
    ast.Dict,
    ast.Set,
    ast.List,
    ast.Tuple,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.comprehension,
    ast.Compare,
    ast.Call,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Starred,
    ast.Name,
    ast.keyword,
    ast.Load,
    ast.Store,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
)


class SandboxLimitError(RuntimeError):
    """Reward code exceeded a sandbox limit at run time (time, steps, sizes)."""


# --- static check ---------------------------------------------------------------------------


@dataclass
class _Ctx:
    errors: list[RewardError]

    def add(self, node: ast.AST | None, message: str) -> None:
        line = getattr(node, "lineno", None) if node is not None else None
        if len(self.errors) < 25 and not any(e.line == line and e.message == message for e in self.errors):
            self.errors.append(RewardError(line, message))


def parse(code: str) -> tuple[ast.Module | None, list[RewardError]]:
    """Parse source after the size limits; syntax errors come back with their line."""
    if not isinstance(code, str):
        return None, [RewardError(None, "reward code must be Python source text")]
    if len(code) > MAX_SOURCE_CHARS:
        return None, [
            RewardError(None, f"reward code is {len(code)} characters; keep it under {MAX_SOURCE_CHARS}")
        ]
    if code.count("\n") + 1 > MAX_LINES:
        return None, [RewardError(None, f"reward code has more than {MAX_LINES} lines; make it shorter")]
    if "\x00" in code:
        return None, [RewardError(None, "reward code contains a NUL character; remove it")]
    try:
        return ast.parse(code, filename=FILENAME), []
    except SyntaxError as exc:
        text = f" near {exc.text.strip()!r}" if exc.text and exc.text.strip() else ""
        return None, [RewardError(exc.lineno, f"syntax error: {exc.msg}{text}; fix the Python syntax")]
    except (RecursionError, MemoryError, ValueError) as exc:
        return None, [
            RewardError(None, f"reward code cannot be parsed ({type(exc).__name__}); simplify nesting")
        ]


def _tree_shape(tree: ast.AST) -> tuple[int, int, ast.AST | None]:
    """(node count, max depth, deepest node) without recursion (deep trees must not crash us)."""
    count, deepest, where = 0, 0, None
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if depth > deepest:
            deepest, where = depth, node
        if count > MAX_NODES:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return count, deepest, where


def _is_number_expr(node: ast.AST) -> bool:
    """Literal arithmetic a module-level constant may use (no `**`: it could explode)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, int | float) and not isinstance(node.value, bool)
    if isinstance(node, ast.Name):
        return node.id == "pi"
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        return _is_number_expr(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult | ast.Div):
        return _is_number_expr(node.left) and _is_number_expr(node.right)
    return False


def _is_literal(node: ast.AST) -> bool:
    if _is_number_expr(node):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str | bool) or node.value is None
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.Dict):
        return all(k is not None and _is_literal(k) for k in node.keys) and all(
            _is_literal(v) for v in node.values
        )
    return False


def _check_top_level(tree: ast.Module, ctx: _Ctx) -> dict[str, ast.FunctionDef]:
    functions: dict[str, ast.FunctionDef] = {}
    for i, stmt in enumerate(tree.body):
        if isinstance(stmt, ast.FunctionDef):
            if stmt.decorator_list:
                ctx.add(stmt, f"decorators are not allowed on {stmt.name}(); remove the @ line")
            for default in (*stmt.args.defaults, *[d for d in stmt.args.kw_defaults if d is not None]):
                if not _is_literal(default):
                    ctx.add(default, f"default values of {stmt.name}() must be plain numbers or strings")
            if stmt.name in functions:
                ctx.add(stmt, f"function {stmt.name}() is defined twice; keep one definition")
            functions[stmt.name] = stmt
        elif isinstance(stmt, ast.Assign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if not all(isinstance(t, ast.Name) for t in targets):
                ctx.add(stmt, "top-level assignments must be to plain names, like WEIGHTS = {...}")
            if stmt.value is None or not _is_literal(stmt.value):
                ctx.add(
                    stmt,
                    "top-level assignments may only hold literal constants (numbers, strings, lists, dicts); "
                    "compute values inside compute_reward",
                )
        elif (
            isinstance(stmt, ast.Expr)
            and isinstance(stmt.value, ast.Constant)
            and isinstance(stmt.value.value, str)
        ):
            continue  # a docstring or a string comment
        elif isinstance(stmt, ast.Pass):
            continue
        elif type(stmt) in _FORBIDDEN_NODES:
            ctx.add(stmt, _FORBIDDEN_NODES[type(stmt)])
        else:
            what = "a call" if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) else "code"
            ctx.add(
                stmt,
                f"{what} at the top level is not allowed (statement {i + 1}); the module may only define "
                "functions and literal constants",
            )
    return functions


def _check_command_contract(functions: dict[str, ast.FunctionDef], ctx: _Ctx) -> None:
    main = functions.get(COMMAND_FUNCTION)
    if main is None:
        near = closest(COMMAND_FUNCTION, functions)
        hint = f" (found {', '.join(near)}(); rename it)" if near else ""
        ctx.add(
            None,
            "define `def command(t):` returning (forward m/s, sideways m/s, yaw rad/s) at time t seconds"
            + hint,
        )
        return
    positional = main.args.posonlyargs + main.args.args
    if len(positional) - len(main.args.defaults) > 1 or (len(positional) < 1 and main.args.vararg is None):
        ctx.add(main, "command must take exactly one argument, the time in seconds: `def command(t):`")


def _assignments(tree: ast.Module, name: str) -> list[ast.stmt]:
    """Top-level statements assigning `name`."""
    found = []
    for stmt in tree.body:
        targets = (
            stmt.targets
            if isinstance(stmt, ast.Assign)
            else [stmt.target]
            if isinstance(stmt, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            found.append(stmt)
    return found


def _check_success_contract(tree: ast.Module, functions: dict[str, ast.FunctionDef], ctx: _Ctx) -> None:
    main = functions.get(MEASURE_FUNCTION)
    if main is None:
        near = closest(MEASURE_FUNCTION, functions)
        hint = f" (found {', '.join(near)}(); rename it)" if near else ""
        ctx.add(None, "define `def measure(s):` returning a dict of named per-step values" + hint)
    else:
        positional = main.args.posonlyargs + main.args.args
        if len(positional) - len(main.args.defaults) > 1 or (
            len(positional) < 1 and main.args.vararg is None
        ):
            ctx.add(main, "measure must take exactly one argument, the state: `def measure(s):`")
    goals = _assignments(tree, GOALS_NAME)
    if not goals:
        ctx.add(
            None, 'define GOALS, the goal of each measure\'s episode mean, e.g. GOALS = {"cart_x": "> 0.3"}'
        )
    for stmt in goals:
        value = stmt.value
        ok = (
            isinstance(value, ast.Dict)
            and bool(value.keys)
            and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys)
            and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in value.values)
        )
        if not ok:
            ctx.add(stmt, 'GOALS must be a dict of measure name -> goal string, e.g. {"upright": ">= 0.9", '
                          '"speed": "between 0.5 and 1.5"}')  # fmt: skip
    for stmt in _assignments(tree, SETTLE_NAME):
        if not _is_number_expr(stmt.value):
            ctx.add(stmt, "SETTLE_S must be a number of seconds, e.g. SETTLE_S = 1.0")


def _check_contract(tree: ast.Module, functions: dict[str, ast.FunctionDef], ctx: _Ctx) -> None:
    main = functions.get(REQUIRED_FUNCTION)
    if main is None:
        near = closest(REQUIRED_FUNCTION, functions)
        hint = f" (found {', '.join(near)}(); rename it)" if near else ""
        ctx.add(None, f"define `def compute_reward(s, action):` returning a dict of named terms{hint}")
    else:
        positional = main.args.posonlyargs + main.args.args
        if len(positional) - len(main.args.defaults) > 2 or (
            len(positional) < 2 and main.args.vararg is None
        ):
            ctx.add(main, "compute_reward must take exactly two arguments: `def compute_reward(s, action):`")
    term = functions.get(OPTIONAL_FUNCTION)
    if term is not None:
        positional = term.args.posonlyargs + term.args.args
        if len(positional) - len(term.args.defaults) > 1 or (
            len(positional) < 1 and term.args.vararg is None
        ):
            ctx.add(term, "is_terminated must take exactly one argument: `def is_terminated(s):`")
    for stmt in tree.body:
        targets = (
            stmt.targets
            if isinstance(stmt, ast.Assign)
            else [stmt.target]
            if isinstance(stmt, ast.AnnAssign)
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == WEIGHTS_NAME for t in targets):
            value = stmt.value
            ok = (
                isinstance(value, ast.Dict)
                and all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in value.keys)
                and all(_is_number_expr(v) for v in value.values)
            )
            if not ok:
                ctx.add(
                    stmt, 'WEIGHTS must be a dict of term name -> number, e.g. WEIGHTS = {"forward": 2.0}'
                )


def _defined_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.FunctionDef):
            names.add(node.name)
    return names


def _check_recursion(functions: dict[str, ast.FunctionDef], ctx: _Ctx) -> None:
    calls: dict[str, set[str]] = {}
    for name, fn in functions.items():
        calls[name] = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and n.id in functions}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for callee in sorted(calls[name]):
            if state.get(callee) == 1:
                cycle = (
                    " -> ".join([*path[path.index(callee) :], callee])
                    if callee in path
                    else f"{name} -> {callee}"
                )
                ctx.add(functions[name], f"recursion is not allowed ({cycle}); use a for loop over range(n)")
            elif callee not in state:
                visit(callee, [*path, callee])
        state[name] = 2

    for name in functions:
        if name not in state:
            visit(name, [name])


def _attribute_hint(attr: str) -> str:
    near = closest(attr, ALLOWED_ATTRIBUTES, n=3)
    if near:
        return f"did you mean {', '.join('.' + n for n in near)}?"
    return "see the reward API reference for what `s`, `jnp` and arrays offer"


def _check_nodes(tree: ast.Module, functions: dict[str, ast.FunctionDef], ctx: _Ctx) -> None:
    defined = _defined_names(tree)
    known = defined | set(INJECTED) | set(SAFE_BUILTIN_NAMES)
    call_funcs = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    for fn in functions.values():
        for inner in ast.walk(fn):
            if inner is not fn and isinstance(inner, ast.FunctionDef):
                ctx.add(inner, "nested functions (closures) are not allowed; define helpers at the top level")
    for node in ast.walk(tree):
        kind = type(node)
        if kind is ast.alias:  # part of an import, which is reported already
            continue
        if kind in _FORBIDDEN_NODES:
            ctx.add(node, _FORBIDDEN_NODES[kind])
            continue
        if not isinstance(node, _ALLOWED_NODES):
            ctx.add(node, f"`{kind.__name__}` syntax is not allowed in reward code")
            continue
        if isinstance(node, ast.Name):
            _check_name(node, known, functions, call_funcs, ctx)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                ctx.add(node, f"attribute `.{node.attr}` is not allowed: names starting with '_' are private")
            elif node.attr not in ALLOWED_ATTRIBUTES:
                ctx.add(
                    node,
                    f"attribute `.{node.attr}` is not available in reward code; {_attribute_hint(node.attr)}",
                )
        elif isinstance(node, ast.arg) and node.arg.startswith("__"):
            ctx.add(node, f"argument name {node.arg!r} is not allowed: names starting with '__' are reserved")
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("__"):
            ctx.add(
                node, f"function name {node.name!r} is not allowed: names starting with '__' are reserved"
            )
        elif isinstance(node, ast.Constant):
            _check_constant(node, ctx)
        elif isinstance(node, ast.Tuple | ast.List | ast.Set) and len(node.elts) > MAX_COLLECTION_LITERAL:
            ctx.add(
                node, f"literal with {len(node.elts)} elements; keep literals under {MAX_COLLECTION_LITERAL}"
            )
        elif isinstance(node, ast.Dict) and len(node.keys) > MAX_COLLECTION_LITERAL:
            ctx.add(
                node, f"dict literal with {len(node.keys)} entries; keep it under {MAX_COLLECTION_LITERAL}"
            )
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and _is_str(node.left):
            ctx.add(
                node, "string formatting with % is not allowed; reward code does not need to build strings"
            )
        elif isinstance(node, ast.AugAssign) and not isinstance(node.target, ast.Name):
            ctx.add(node, "augmented assignment (+=, *=...) only works on plain names; write x[i] = x[i] + y")


def _is_str(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)


def _check_name(
    node: ast.Name, known: set[str], functions: dict[str, ast.FunctionDef], call_funcs: set[int], ctx: _Ctx
) -> None:
    name = node.id
    if name.startswith("__"):
        ctx.add(node, f"name {name!r} is not allowed: names starting with '__' are reserved")
    elif (
        isinstance(node.ctx, ast.Load)
        and name in FORBIDDEN_NAMES
        and name not in known - set(SAFE_BUILTIN_NAMES)
    ):
        ctx.add(node, f"`{name}` is not available in reward code ({FORBIDDEN_NAMES[name]})")
    elif isinstance(node.ctx, ast.Load) and name not in known:
        near = closest(name, known, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        ctx.add(
            node,
            f"unknown name `{name}`{hint} "
            "(available: jnp, tolerance, gaussian, exponential, schedule, pi, and the arguments: "
            "s and action in compute_reward, t in command)",
        )
    elif isinstance(node.ctx, ast.Load) and name in functions and id(node) not in call_funcs:
        ctx.add(node, f"function `{name}` can only be called, not used as a value; call it: {name}(...)")


def _check_constant(node: ast.Constant, ctx: _Ctx) -> None:
    value = node.value
    if isinstance(value, bytes):
        ctx.add(node, "bytes literals are not allowed")
    elif isinstance(value, str) and len(value) > MAX_STR_LITERAL:
        ctx.add(node, f"string literal of {len(value)} characters; keep strings under {MAX_STR_LITERAL}")
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_LITERAL:
        ctx.add(node, f"integer literal too large; keep |n| <= {MAX_INT_LITERAL:.0e} (use floats like 1e20)")
    elif isinstance(value, complex):
        ctx.add(node, "complex numbers are not allowed")


def validate(tree: ast.Module, contract: str = "reward") -> list[RewardError]:
    """All the static problems of a parsed reward program (empty when it may run). `contract`:
    "reward" (compute_reward, is_terminated, WEIGHTS), "command" (a command program's command(t)) or
    "success" (a success check's measure(s), GOALS, SETTLE_S)."""
    ctx = _Ctx([])
    count, depth, where = _tree_shape(tree)
    if count > MAX_NODES:
        ctx.add(None, f"reward code is too large (more than {MAX_NODES} syntax nodes); make it shorter")
        return ctx.errors
    if depth > MAX_DEPTH:
        ctx.add(where, f"reward code is nested too deeply (depth {depth} > {MAX_DEPTH}); split it into steps")
        return ctx.errors
    functions = _check_top_level(tree, ctx)
    _check_nodes(tree, functions, ctx)
    _check_recursion(functions, ctx)
    if contract == "command":
        _check_command_contract(functions, ctx)
    elif contract == "success":
        _check_success_contract(tree, functions, ctx)
    else:
        _check_contract(tree, functions, ctx)
    return sorted(ctx.errors, key=lambda e: (e.line is None, e.line or 0))


# --- instrumentation ------------------------------------------------------------------------

_BINOP_NAMES = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.MatMult: "@",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.BitAnd: "&",
}


class _Instrument(ast.NodeTransformer):
    """Adds budget ticks and operator guards; strips annotations (they would run at def time)."""

    @staticmethod
    def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
        return ast.copy_location(
            ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[]), like
        )

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.FunctionDef:
        self.generic_visit(node)
        node.returns = None
        for arg in (
            *node.args.posonlyargs,
            *node.args.args,
            *node.args.kwonlyargs,
            node.args.vararg,
            node.args.kwarg,
        ):
            if arg is not None:
                arg.annotation = None
        tick = ast.copy_location(ast.Expr(self._call("__tabrl_tick", [], node)), node)
        node.body = [tick, *node.body]
        return node

    def visit_For(self, node: ast.For) -> ast.For:
        self.generic_visit(node)
        node.iter = self._call("__tabrl_iter", [node.iter], node.iter)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.iter = self._call("__tabrl_iter", [node.iter], node.iter)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.Call:
        self.generic_visit(node)
        op = ast.Constant(_BINOP_NAMES[type(node.op)])
        return self._call("__tabrl_binop", [op, node.left, node.right], node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.Assign:
        self.generic_visit(node)
        target = node.target
        assert isinstance(target, ast.Name)  # validate() allows only names
        load = ast.copy_location(ast.Name(id=target.id, ctx=ast.Load()), target)
        value = self._call(
            "__tabrl_binop", [ast.Constant(_BINOP_NAMES[type(node.op)]), load, node.value], node
        )
        return ast.copy_location(ast.Assign(targets=[target], value=value), node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        self.generic_visit(node)
        if node.value is None:
            return ast.copy_location(ast.Pass(), node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node)


def instrument(tree: ast.Module) -> ast.Module:
    """The validated tree with ticks and guards added (line numbers kept)."""
    out = _Instrument().visit(tree)
    return ast.fix_missing_locations(out)


# --- run-time guards ------------------------------------------------------------------------


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

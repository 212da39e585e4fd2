"""Phase 1, the static check: `parse` (size limits, then syntax) and `validate` (the syntax tree against
the allow-list in `allowlist`). Nothing in reward code runs before it passed both.

`validate` refuses imports, names or attributes starting with `_`, attributes outside the allow-list
(the `s` API, array methods, `jnp` functions), `while` / `lambda` / nested functions / classes /
`try` / `with` / f-strings, recursion between top-level functions, top-level code other than function
definitions and literal constants, and programs over the limits on size, nesting and literals; it
also checks the contract of the program kind (reward, command program, success check).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from tabrl.errors import closest
from tabrl.rewards.result import RewardError
from tabrl.rewards.sandbox.allowlist import (
    _ALLOWED_NODES,
    _FORBIDDEN_NODES,
    ALLOWED_ATTRIBUTES,
    COMMAND_FUNCTION,
    FILENAME,
    FORBIDDEN_NAMES,
    GOALS_NAME,
    INJECTED,
    MAX_COLLECTION_LITERAL,
    MAX_DEPTH,
    MAX_INT_LITERAL,
    MAX_LINES,
    MAX_NODES,
    MAX_SOURCE_CHARS,
    MAX_STR_LITERAL,
    MEASURE_FUNCTION,
    OPTIONAL_FUNCTION,
    REQUIRED_FUNCTION,
    SAFE_BUILTIN_NAMES,
    SETTLE_NAME,
    WEIGHTS_NAME,
)


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

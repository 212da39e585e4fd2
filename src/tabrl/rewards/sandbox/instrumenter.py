"""Phase 2, instrumentation: the validated syntax tree gets budget ticks and operator guards before
it is compiled (line numbers kept, annotations stripped).

- every function entry and every loop iteration calls `__tabrl_tick()`, which charges the run's
  `guards.Budget` (a wall-clock deadline and a step count, kept per thread);
- every `for` / comprehension iterable goes through `__tabrl_iter()` (ticks per item);
- every binary operator goes through `__tabrl_binop()`, which refuses the C-level operations that
  could block for a long time or exhaust memory in one step (see `guards`).

The `__tabrl_*` names are bound by `guards.namespace()`; reward code cannot name them itself (the
static check refuses names starting with `__`).
"""

from __future__ import annotations

import ast

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

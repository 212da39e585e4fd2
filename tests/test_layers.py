"""The import graph: no circles between TabRL's packages, nor between any two of its modules; the core
never imports jobs/server/cli.

Every `import tabrl.X...` / `from tabrl.X... import` (and, for modules, every relative import) counts, at
module level or inside a function (a lazy import is still a dependency). The package order this holds
today, lowest first: render < scenes < rewards < policies < authoring, training < jobs < server < cli.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tabrl"
PACKAGES = ("render", "scenes", "rewards", "policies", "authoring", "training", "jobs", "server", "cli")
CORE = ("render", "scenes", "rewards", "policies", "authoring", "training")


def _graph() -> dict[str, dict[str, set[str]]]:
    """package -> imported package -> the modules that import it."""
    graph: dict[str, dict[str, set[str]]] = {p: {} for p in PACKAGES}
    for package in PACKAGES:
        for path in (SRC / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                    else [a.name for a in node.names] if isinstance(node, ast.Import) else []
                )  # fmt: skip
                for name in names:
                    parts = name.split(".")
                    if (
                        parts[0] == "tabrl"
                        and len(parts) > 1
                        and parts[1] in PACKAGES
                        and parts[1] != package
                    ):
                        graph[package].setdefault(parts[1], set()).add(str(path.relative_to(SRC)))
    return graph


def test_no_package_imports_one_that_imports_it_back() -> None:
    graph = _graph()

    def reaches(a: str, b: str, seen: set[str]) -> bool:
        return any(n == b or (n not in seen and not seen.add(n) and reaches(n, b, seen)) for n in graph[a])

    circles = [(a, b, sorted(graph[a][b])) for a in PACKAGES for b in graph[a] if reaches(b, a, set())]
    assert not circles, circles


def test_the_core_never_imports_jobs_server_or_cli() -> None:
    graph = _graph()
    upward = {(p, q): sorted(m) for p in CORE for q, m in graph[p].items() if q in ("jobs", "server", "cli")}
    assert not upward, upward


# --- modules: no import circle between any two tabrl modules ---------------------------------------

#: Circles allowed for now, each as the exact set of modules of one strongly connected component (none).
ALLOWED_CIRCLES: list[set[str]] = []


def _module_name(path: Path, src: Path) -> str:
    parts = path.relative_to(src.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph(src: Path = SRC) -> dict[str, dict[str, set[str]]]:
    """module -> imported tabrl module -> where (`file:line`). Every import statement counts, at module
    level, inside a function or under `if TYPE_CHECKING:`. `from P import name` counts as importing the
    module P.name when there is one, else P itself (a package's `__init__` re-export is the package)."""
    files = {_module_name(p, src): p for p in src.rglob("*.py")}
    packages = {_module_name(p, src) for p in src.rglob("__init__.py")}

    def existing(name: str) -> str | None:
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, set[str]]] = {m: {} for m in files}
    for module, path in files.items():
        package = module if module in packages else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for target in targets:
                found = existing(target) if target.split(".")[0] == "tabrl" else None
                if found and found != module:
                    graph[module].setdefault(found, set()).add(f"{path.relative_to(src)}:{node.lineno}")
    return graph


def _strongly_connected(graph: dict[str, dict[str, set[str]]]) -> list[set[str]]:
    """Tarjan's components with more than one module (iterative: no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_no_module_imports_one_that_imports_it_back() -> None:
    graph = _module_graph()
    circles = [c for c in _strongly_connected(graph) if c not in ALLOWED_CIRCLES]
    report = [
        f"{a} -> {b} ({', '.join(sorted(graph[a][b]))})"
        for component in circles
        for a in sorted(component)
        for b in sorted(graph[a])
        if b in component
    ]
    assert not circles, "import circles (module -> module it imports back, where):\n" + "\n".join(report)


def test_the_module_graph_sees_every_import_form(tmp_path: Path) -> None:
    """A circle only closed by a relative import inside a function and a package `__init__` re-export."""
    package = tmp_path / "tabrl" / "a"
    package.mkdir(parents=True)
    (tmp_path / "tabrl" / "__init__.py").write_text("")
    (package / "__init__.py").write_text("from tabrl.a.b import f\n")
    (package / "b.py").write_text("def f():\n    from . import c\n")
    (package / "c.py").write_text("import tabrl.errors\n\n\ndef g():\n    from tabrl.a import f\n")
    (tmp_path / "tabrl" / "errors.py").write_text("")
    graph = _module_graph(tmp_path / "tabrl")
    assert graph["tabrl.a.b"] == {"tabrl.a.c": {"a/b.py:2"}}
    assert graph["tabrl.a.c"] == {"tabrl.errors": {"a/c.py:1"}, "tabrl.a": {"a/c.py:5"}}
    assert _strongly_connected(graph) == [{"tabrl.a", "tabrl.a.b", "tabrl.a.c"}]


def test_the_module_graph_of_tabrl_is_not_empty() -> None:
    graph = _module_graph()
    assert "tabrl.rewards.sandbox" in graph["tabrl.rewards.compiler"]  # from tabrl.rewards import sandbox
    assert "tabrl.rewards" in graph["tabrl.training.envs"]  # from tabrl.rewards import make_env (re-export)
    assert "tabrl.jobs.executors" in graph["tabrl.jobs.scheduler"]

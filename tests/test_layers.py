"""The package import graph: no circles between TabRL's packages; the core never imports jobs/server/cli.

Every `import tabrl.X...` / `from tabrl.X... import` in a package's modules counts, at module level or inside
a function (a lazy import is still a dependency). The order this holds today, lowest first:
render < scenes < rewards < policies < authoring, training < jobs < server < cli.
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

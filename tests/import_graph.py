"""The import graph of ``lib/socialflywheel``, read from the source (nothing is imported).

    python -m tests.import_graph            # package-level edges, cycles, and what the lake layer imports

Module-level imports are the ones that make cycles (an import inside a function, under ``TYPE_CHECKING`` or in an
``if __name__ == "__main__"`` block runs later or never); both kinds are recorded, separately.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

LIB = Path(__file__).resolve().parents[1] / "lib"
ROOT = "socialflywheel"
STAGES = ("features", "graph", "recsys", "ingest", "privacy", "report", "federated", "simulate", "cli", "demo")


@dataclass
class Graph:
    modules: set[str] = field(default_factory=set)
    top: dict[str, set[str]] = field(default_factory=dict)  # module -> modules imported at module level
    deferred: dict[str, set[str]] = field(default_factory=dict)  # in functions or TYPE_CHECKING blocks


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(LIB).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(node: ast.ImportFrom, module: str, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _targets(node: ast.AST, module: str, is_pkg: bool, modules: set[str]) -> Iterator[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        src = _resolve(node, module, is_pkg)
        names = [f"{src}.{a.name}" if f"{src}.{a.name}" in modules else src for a in node.names]
    else:
        return
    for name in names:
        while name and name not in modules:  # `import a.b.c` of a function: its module
            name = name.rpartition(".")[0]
        if name.startswith(ROOT) and name != module:
            yield name


def _walk(tree: ast.AST, deferred: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, True)
        elif isinstance(child, ast.If) and (
            "TYPE_CHECKING" in ast.unparse(child.test) or "__main__" in ast.unparse(child.test)
        ):
            yield from _walk(child, True)
        else:
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, deferred
            yield from _walk(child, deferred)


def build() -> Graph:
    files = sorted((LIB / ROOT).rglob("*.py"))
    g = Graph(modules={_module_name(f) for f in files})
    for f in files:
        module = _module_name(f)
        g.top[module], g.deferred[module] = set(), set()
        for node, deferred in _walk(ast.parse(f.read_text(), str(f))):
            for target in _targets(node, module, f.name == "__init__.py", g.modules):
                (g.deferred if deferred else g.top)[module].add(target)
    return g


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10_000)

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def lake_imports_of_stages(g: Graph) -> list[tuple[str, str]]:
    """(lake module, stage module) for every import from the lake layer up: deferred ones and imports by string
    (the old catalog's ``importlib.import_module`` of 14 stage modules) included."""
    stage_pkgs = {f"{ROOT}.{s}" for s in STAGES}
    out = []
    for module in sorted(g.modules):
        if not module.startswith(f"{ROOT}.lake"):
            continue
        for target in sorted(g.top[module] | g.deferred[module]):
            if package(target) in stage_pkgs:
                out.append((module, target))
    out += [(m, t) for m, t in string_imports() if m.startswith(f"{ROOT}.lake") and package(t) in stage_pkgs]
    return out


def string_imports() -> list[tuple[str, str]]:
    """(module, named module) for every string literal in the library that names one of its modules (an import
    by string, e.g. ``importlib.import_module("socialflywheel.x")`` or ``"socialflywheel.x:fn"`` targets)."""
    files = sorted((LIB / ROOT).rglob("*.py"))
    modules = {_module_name(f) for f in files}
    found = []
    for f in files:
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                target = node.value.split(":", 1)[0]
                if target in modules and target.count(".") >= 1:
                    found.append((_module_name(f), target))
    return sorted(set(found))


def main() -> None:
    g = build()
    pkg_edges: dict[str, set[str]] = {}
    for module, targets in g.top.items():
        for t in targets:
            if package(t) != package(module):
                pkg_edges.setdefault(package(module), set()).add(package(t))
    print(f"{len(g.modules)} modules; package-level module-import edges:")
    for src in sorted(pkg_edges):
        print(f"  {src} -> {', '.join(sorted(pkg_edges[src]))}")
    print("module import cycles:", cycles(g.top) or "none")
    print("package import cycles (module level):", cycles(pkg_edges) or "none")
    print("lake -> stage imports:", lake_imports_of_stages(g) or "none")
    by_string = string_imports()
    print(f"imports by string ({len(by_string)}):", ", ".join(f"{m} -> {t}" for m, t in by_string) or "none")


if __name__ == "__main__":
    main()

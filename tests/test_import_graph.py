"""The layout's rules, read from the source: no import cycles, the lake layer never imports a stage, and every
table is declared in the catalog package (``python -m tests.import_graph`` prints the graph)."""

from __future__ import annotations

import ast
import re

import pytest

from tests.import_graph import LIB, ROOT, Graph, build, cycles, lake_imports_of_stages, package

LAYERED = r"(bronze|silver|gold|audit|truth)\.\w+"  # a lake table's name (rich's Table takes a title)


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build()


def test_no_module_import_cycle_even_through_deferred_imports(graph: Graph) -> None:
    """Deferred imports included: a function-level import that closes a cycle is still a cycle in the design
    (features.job <-> its builders through write_partitions was one)."""
    assert cycles(graph.top) == []
    assert cycles({m: graph.top[m] | graph.deferred[m] for m in graph.modules}) == []


def test_no_package_cycle_even_through_deferred_imports(graph: Graph) -> None:
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        for target in graph.top[module] | graph.deferred[module]:
            if package(target) != package(module):
                edges.setdefault(package(module), set()).add(package(target))
    assert cycles(edges) == []


def test_the_lake_layer_imports_no_stage(graph: Graph) -> None:
    assert lake_imports_of_stages(graph) == []


def test_the_catalog_imports_nothing_but_itself(graph: Graph) -> None:
    catalog = f"{ROOT}.lake.catalog"
    outside = {
        (m, t)
        for m in graph.modules
        if m.startswith(catalog)
        for t in graph.top[m] | graph.deferred[m]
        if not t.startswith(catalog)
    }
    assert outside == set()


def test_tables_are_declared_only_in_the_catalog() -> None:
    """No module outside lake/catalog constructs a ``Table`` (a stage declaring its own table would make the
    catalog depend on which stages a process imported)."""
    found = []
    for path in sorted((LIB / ROOT).rglob("*.py")):
        if "lake/catalog" in path.as_posix():
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Table":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant) and re.fullmatch(LAYERED, str(first.value)):
                    found.append(f"{path.relative_to(LIB)}:{node.lineno}")
    assert found == []


def test_the_checker_sees_a_planted_cycle() -> None:
    """The cycle finder is not vacuous: a two-module cycle and a three-module one are reported."""
    edges = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(cycles(edges)) == [["a", "b"], ["c", "d", "e"]]


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(LIB)): n for p in (LIB / ROOT).rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


# The composition root: the modules that may hold the whole configuration. Every job's library function takes
# its own section (and the few resolved values it shares), so a stage can be read, tested and reused alone.
COMPOSITION_ROOT = {
    "socialflywheel.cli",
    "socialflywheel.demo",
    "socialflywheel.doctor",
    "socialflywheel.notebook",  # the notebooks' entry point: their parameters -> the config and its lake
    "socialflywheel.jobs_registry",
    "socialflywheel.runs",
    "socialflywheel.spark",
    "socialflywheel.tracking",  # Tracking.from_config resolves the mlflow section against the work folder
    "socialflywheel.lake.io",  # Lake.from_config resolves the lake root and storage options
}


def test_only_the_composition_root_takes_the_whole_configuration() -> None:
    """Mutation tried: ``run_graph(spark, cfg, lake)`` taking ``FlywheelConfig`` again fails naming graph.job."""
    takers = []
    for path in sorted(LIB.rglob("*.py")):
        module = ".".join(path.relative_to(LIB).with_suffix("").parts).removesuffix(".__init__")
        if module in COMPOSITION_ROOT or module.startswith("socialflywheel.config"):
            continue
        if re.search(r"\bFlywheelConfig\b", path.read_text()):
            takers.append(module)
    assert takers == []

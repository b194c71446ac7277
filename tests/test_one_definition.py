"""Each shared concept is defined in one place in the library (found defined two to four times before)."""

from __future__ import annotations

import ast
from collections import Counter

from tests.import_graph import LIB, ROOT

ENGAGEMENT = {"like", "share", "comment", "click"}


def _trees() -> list[tuple[str, ast.AST]]:
    return [(str(p.relative_to(LIB)), ast.parse(p.read_text())) for p in sorted((LIB / ROOT).rglob("*.py"))]


def test_functions_defined_once() -> None:
    """``gini`` (was in the metrics and in fairness) and ``risky_accounts`` (features, training examples, graph)."""
    defs = Counter(
        node.name
        for _, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in ("gini", "risky_accounts")
    )
    assert defs == {"gini": 1, "risky_accounts": 1}


def test_engagement_types_spelled_once() -> None:
    """The engagement event types as a literal (was four times): only the catalog's ``ENGAGEMENT_TYPES``."""
    places = [
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Tuple | ast.List)
        and all(isinstance(e, ast.Constant) for e in node.elts)
        and {e.value for e in node.elts if isinstance(e, ast.Constant)} == ENGAGEMENT
    ]
    assert [p.split(":")[0] for p in places] == ["socialflywheel/lake/catalog/table.py"], places

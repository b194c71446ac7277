"""Each shared concept is defined in one place in the library (found defined two to four times before)."""

from __future__ import annotations

import ast
import re
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


_TYPE = r"(?:string|bigint|int|double|float|boolean|date|timestamp|binary|array<[^>]*>|map<[^>]*>)"
DDL = re.compile(rf"\s*\w+ {_TYPE}(?:\s*,\s*\w+ {_TYPE})+\s*")


def test_schemas_are_declared_as_arrow_and_ddl_is_derived() -> None:
    """No Spark DDL column list is written by hand in the library (the event schema was written six ways, in DDL
    strings parsed by five parsers): tables take their schema from the catalog (``Table.schema``, ``.ddl``), other
    intermediate frames declare a pyarrow schema and derive DDL with ``spark_ddl``.

    Mutation tried: putting the old ``"user_id string, segment int, distance double"`` back in features.segments;
    this test named it."""
    places = [
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and DDL.fullmatch(node.value)
    ]
    assert places == [], places


def test_required_fields_per_event_type_come_from_the_contract() -> None:
    """The fields each event type requires are read from the landing JSON Schema (parse.REQUIRED_BY_TYPE); the
    simulator's corruptions used to keep their own table of them."""
    places = [
        f"{path}:{node.lineno}"
        for path, tree in _trees()
        for node in ast.walk(tree)
        if isinstance(node, ast.Dict)
        and {k.value for k in node.keys if isinstance(k, ast.Constant)} >= {"follow", "unfollow", "like"}
        and {v.value for v in node.values if isinstance(v, ast.Constant)} & {"post_id", "target_user_id"}
    ]
    assert places == [], places

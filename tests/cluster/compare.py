"""Table equality across engines: same rows, floats within 1e-9 (at any depth), run bookkeeping left out."""

from __future__ import annotations

import math
from typing import Any

import pyarrow as pa

FLOAT_TOL = 1e-9
# Run bookkeeping, not results: when and by which run a table was written, and how many commits the engine used.
RUN_COLUMNS = {"gold.features_watermark": ("run_id", "run_at", "silver_events_version")}


def _norm(v: Any) -> Any:
    if isinstance(v, list):
        return tuple(_norm(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, _norm(x)) for k, x in v.items()))
    return v


def _coarse(v: Any) -> Any:
    """A sort key that float noise does not move: floats rounded to 6 significant digits."""
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.6g}"
    if isinstance(v, tuple):
        return tuple(_coarse(x) for x in v)
    return repr(v)


def canonical(table: pa.Table, keys: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows as tuples (maps and lists made comparable), columns in name order, sorted by keys then values."""
    names = sorted(table.column_names)
    rows = [tuple(_norm(r[c]) for c in names) for r in table.select(names).to_pylist()]
    at = [names.index(k) for k in keys if k in names]
    return sorted(rows, key=lambda r: (tuple(_coarse(r[i]) for i in at), _coarse(r)))


def same(x: Any, y: Any) -> bool:
    """Equal, with floats within FLOAT_TOL (relative and absolute) wherever they are nested."""
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=FLOAT_TOL, abs_tol=FLOAT_TOL) or (math.isnan(x) and math.isnan(y))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
    return bool(x == y)


def assert_same_rows(name: str, left: pa.Table, right: pa.Table) -> None:
    from socialflywheel.lake.catalog import is_declared, table

    drop = [c for c in RUN_COLUMNS.get(name, ()) if c in left.column_names]
    left, right = left.drop_columns(drop), right.drop_columns(drop)
    assert sorted(left.column_names) == sorted(right.column_names), name
    assert left.num_rows == right.num_rows, f"{name}: {left.num_rows} rows vs {right.num_rows}"
    keys = table(name).keys if is_declared(name) else ()
    for a, b in zip(canonical(left, keys), canonical(right, keys), strict=True):
        assert same(a, b), f"{name}: {a} != {b}"

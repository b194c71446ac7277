"""The one place that names every table: its layer, explicit pyarrow schema, partitioning, keys and people columns.

``raw`` declares bronze, silver, audit and truth; ``stages`` the tables the stages write (gold and their
bookkeeping). Nothing here imports a stage: stages import their tables from here.
"""

from __future__ import annotations

from socialflywheel.lake.catalog.raw import RAW_TABLES
from socialflywheel.lake.catalog.stages import STAGE_TABLES
from socialflywheel.lake.catalog.table import (
    ENGAGEMENT_TYPES,
    EVENT_FIELDS,
    EVENT_SCHEMA,
    EVENT_TYPES,
    Table,
    spark_ddl,
    spark_type,
)

__all__ = [
    "CATALOG",
    "ENGAGEMENT_TYPES",
    "EVENT_FIELDS",
    "EVENT_SCHEMA",
    "EVENT_TYPES",
    "Table",
    "is_declared",
    "spark_ddl",
    "spark_type",
    "table",
]

CATALOG: dict[str, Table] = {t.name: t for t in (*RAW_TABLES, *STAGE_TABLES)}


def table(name: str) -> Table:
    """Look a table up by its qualified name, e.g. ``silver.events``.

    Raises:
        KeyError: naming the unknown table and listing the catalog.
    """
    found = CATALOG.get(name)
    if found is None:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown table {name!r}; the catalog has: {known}")
    return found


def is_declared(name: str) -> bool:
    """Whether the catalog declares the table."""
    return name in CATALOG

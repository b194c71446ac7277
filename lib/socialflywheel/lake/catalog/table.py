"""What a catalog entry is: a named Delta table with its layer, schema, partitioning, keys and people columns.

A table's schema is declared once, as an explicit ``pyarrow`` schema; the Spark DDL (for empty DataFrames and
``createDataFrame``), the delta-rs write schema and the data dictionary are derived from it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import pyarrow as pa

# The column types the lake uses. Timestamps are instants (Delta ``timestamp``, Spark's session-zone adjusted type):
# microseconds in UTC, as Spark and delta-rs both read and write them.
STR = pa.string()
BIN = pa.binary()
BOOL = pa.bool_()
I32 = pa.int32()
I64 = pa.int64()
F64 = pa.float64()
DATE = pa.date32()
TS = pa.timestamp("us", tz="UTC")

_SPARK_NAMES: dict[pa.DataType, str] = {
    STR: "string",
    BIN: "binary",
    BOOL: "boolean",
    I32: "int",
    I64: "bigint",
    F64: "double",
    DATE: "date",
    TS: "timestamp",
}


def spark_type(dtype: pa.DataType) -> str:
    """The Spark DDL spelling of a catalog column type (``array<string>``, ``map<string,bigint>``...).

    Raises:
        TypeError: for a type the lake does not use (declare it here first, with its Spark spelling).
    """
    if pa.types.is_list(dtype):
        return f"array<{spark_type(dtype.value_type)}>"
    if pa.types.is_map(dtype):
        return f"map<{spark_type(dtype.key_type)},{spark_type(dtype.item_type)}>"
    name = _SPARK_NAMES.get(dtype)
    if name is None:
        raise TypeError(f"catalog: no Spark type for Arrow type {dtype}; add it to lake/catalog/table.py")
    return name


def spark_ddl(schema: pa.Schema) -> str:
    """A pyarrow schema as a Spark DDL string (``"user_id string, events bigint"``)."""
    return ", ".join(f"{f.name} {spark_type(f.type)}" for f in schema)


EVENT_TYPES = (
    "post",
    "view",
    "like",
    "share",
    "comment",
    "follow",
    "unfollow",
    "click",
    "search",
    "ad_impression",
    "ad_click",
)

# Events that engage with a post (a view does not): counted by features, campaigns and serving priors alike.
ENGAGEMENT_TYPES = ("like", "share", "comment", "click")

# The event contract (ARCHITECTURE.md). Order matters: landing parsers emit it in this order.
EVENT_FIELDS: tuple[pa.Field, ...] = tuple(
    pa.field(name, dtype)
    for name, dtype in (
        ("event_id", STR),
        ("event_type", STR),
        ("user_id", STR),
        ("post_id", STR),
        ("target_user_id", STR),
        ("ts", TS),
        ("dwell_ms", I64),
        ("text", STR),
        ("hashtags", pa.list_(STR)),
        ("country", STR),
        ("device", STR),
        ("campaign_id", STR),
    )
)
# silver.events: the contract plus its partition column.
EVENT_SCHEMA = pa.schema([*EVENT_FIELDS, pa.field("event_date", DATE)])


@dataclass(frozen=True)
class Table:
    """A named Delta table of the lake."""

    name: str
    schema: pa.Schema
    partition_by: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    doc: str = ""
    pii_columns: tuple[str, ...] = field(default=())
    """Columns that hold a person's identifier (raw in bronze, pseudonymized elsewhere); erasure uses them."""
    period_column: str | None = None
    """The date or timestamp column a logical run date bounds: a run for day D sees only rows with it on or before
    D and, where it is a partition column, writes no partition after D (``Lake.bounded``). None: the table is a
    snapshot that a dated run reads whole (it is rebuilt for that date by the run that writes it)."""
    writer: str | None = None
    """The job (or command) that writes the table; None where several do (``audit.job_runs``: every job's record).
    ``flywheel status`` names it for a table no run record accounts for yet."""

    @property
    def layer(self) -> str:
        """The layer part of the name (``gold`` of ``gold.trends``): the table's top-level folder."""
        return self.name.split(".", 1)[0]

    @property
    def short(self) -> str:
        """The name without its layer (``trends`` of ``gold.trends``): the table's folder inside its layer."""
        return self.name.split(".", 1)[1]

    @cached_property
    def ddl(self) -> str:
        """The schema as Spark DDL (derived; for ``createDataFrame`` and empty reads)."""
        return spark_ddl(self.schema)

    @property
    def column_types(self) -> dict[str, str]:
        """Column name -> Spark DDL type, in schema order."""
        return {f.name: spark_type(f.type) for f in self.schema}

    @property
    def column_names(self) -> list[str]:
        """The columns, in schema order."""
        return list(self.schema.names)

    def holds_list(self, column: str) -> bool:
        """Whether a column holds an array (of people, for erasure) rather than one value."""
        is_list: bool = pa.types.is_list(self.schema.field(column).type)
        return is_list

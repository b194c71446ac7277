"""The bound of a dated run (``Lake.bounded``): which rows of a table a run for a logical date sees and writes.

A table's ``period_column`` (catalog) is the date or timestamp that places a row in time. A run for day D reads
only rows with it on or before D (a timestamp: before the next midnight UTC), and, where it partitions the table,
replaces and streams only the partitions of days up to D.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog import table

if TYPE_CHECKING:
    from deltalake.table import FilterType
    from pyspark.sql import DataFrame


def period_of(name: str, until: dt.date | None) -> tuple[str, bool] | None:
    """The table's bounded column and whether it is a timestamp; None when unbounded or the table has none."""
    if until is None:
        return None
    t = table(name)
    if t.period_column is None:
        return None
    import pyarrow as pa

    return t.period_column, pa.types.is_timestamp(t.schema.field(t.period_column).type)


def partition_bound(name: str, until: dt.date | None) -> str | None:
    """The period column when it partitions the table (what dated overwrites and streaming readers bound)."""
    found = period_of(name, until)
    return found[0] if found is not None and found[0] in table(name).partition_by else None


def next_midnight(until: dt.date) -> dt.datetime:
    """The first instant after the day (UTC)."""
    return dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def bound_frame(df: DataFrame, name: str, until: dt.date | None) -> DataFrame:
    """A Spark read of the table, bounded to the day."""
    found = period_of(name, until)
    if found is None or until is None:
        return df
    from pyspark.sql import functions as F

    column, is_ts = found
    return df.where(F.col(column) < F.lit(next_midnight(until)) if is_ts else F.col(column) <= F.lit(until))


def bound_filters(name: str, filters: FilterType | None, until: dt.date | None) -> FilterType | None:
    """delta-rs read filters with the day's bound added (to every conjunction of a disjunctive form)."""
    found = period_of(name, until)
    if found is None or until is None:
        return filters
    column, is_ts = found
    bound = (column, "<", next_midnight(until)) if is_ts else (column, "<=", until)
    if not filters:
        return [bound]
    if isinstance(filters[0], list):
        return [[*conj, bound] for conj in filters]
    return [*filters, bound]

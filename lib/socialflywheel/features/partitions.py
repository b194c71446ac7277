"""Writing a feature table whole, or only the date partitions an incremental run rebuilt."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.lake.io import Lake


def write_partitions(
    spark: SparkSession,
    lake: Lake,
    df: DataFrame,
    name: str,
    *,
    column: str,
    since: str | None,
    until: str | None = None,
) -> int:
    """Write the rows of ``df`` with ``column`` in ``since``..``until``; return the rows now there in that range.

    Without ``since`` (a full build, or its first chunk) the table is replaced whole; with it, only the partitions
    of the range (``until`` None: to the end), so the chunks of a full build and an incremental run leave the rest.
    """
    replace_range(lake, df, name, column=column, since=since, until=until)
    return count_range(spark, lake, name, column=column, since=since, until=until)


def replace_range(lake: Lake, df: DataFrame, name: str, *, column: str, since: str | None, until: str | None) -> None:
    """Replace the table whole (no ``since``), or only its partitions with ``column`` in ``since``..``until``."""
    if since is None or not lake.exists(name):
        lake.overwrite(df, name)
        return
    bound = f"{column} >= '{since}'" + (f" AND {column} <= '{until}'" if until is not None else "")
    lake.overwrite(df, name, replace_where=bound)


def count_range(
    spark: SparkSession, lake: Lake, name: str, *, column: str, since: str | None, until: str | None
) -> int:
    """Rows of a table with ``column`` in ``since``..``until`` (open ends when None)."""
    from pyspark.sql import functions as F

    where = F.lit(True)
    if since is not None:
        where = where & (F.col(column) >= F.lit(dt.date.fromisoformat(since)))
    if until is not None:
        where = where & (F.col(column) <= F.lit(dt.date.fromisoformat(until)))
    return int(lake.read(spark, name).where(where).count())

"""Writing a feature table whole, or only the date partitions an incremental run rebuilt."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.lake.io import Lake


def write_partitions(
    spark: SparkSession, lake: Lake, df: DataFrame, name: str, *, column: str, since: str | None
) -> int:
    """Overwrite a table, or only its partitions with ``column >= since``; return the rows now there."""
    from pyspark.sql import functions as F

    if since is None or not lake.exists(name):
        lake.overwrite(df, name)
        return int(lake.read(spark, name).count())
    lake.overwrite(df, name, replace_where=f"{column} >= '{since}'")
    return int(lake.read(spark, name).where(F.col(column) >= F.lit(dt.date.fromisoformat(since))).count())

"""What the notebooks share: their parameters turned into a config and a lake, and event reads bounded by dates.

The notebooks are parameterized for papermill (a cell tagged ``parameters``): ``CONF`` (a config file; relative
paths are tried against the repository too), ``WORK_DIR``, ``LAKE_URI`` (an object-store lake such as
``s3a://bucket/lake``), ``MLFLOW_URI`` (a tracking server) and ``START``/``END`` (ISO dates bounding the events
shown) and ``ENGINE``: counts over big tables run on the engine the config names (:func:`count_by`: a Spark
session, the cluster's with a cluster config), small reads go through delta-rs (``Lake.read_arrow``: only the
columns and date partitions shown). They never train, register or promote anything.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.config import REPO_ROOT, FlywheelConfig, load_config
from socialflywheel.lake.io import Lake


def open_lake(
    conf: str | None = None,
    *,
    work_dir: str | None = None,
    lake_uri: str | None = None,
    mlflow_uri: str | None = None,
) -> tuple[FlywheelConfig, Lake]:
    """The config the notebook's parameters name, and its lake.

    Args:
        conf: The config file (default ``conf/local.yaml``); a relative path is tried from the working folder, then
            from the repository root.
        work_dir: ``work_dir`` (default: ``FLYWHEEL_WORK_DIR`` when set, else the config's).
        lake_uri: ``lake.root`` (default: the config's).
        mlflow_uri: ``mlflow.tracking_uri`` (default: the config's).
    """
    path = Path(conf or "conf/local.yaml").expanduser()
    if not path.is_absolute() and not path.exists():
        path = REPO_ROOT / path
    sets = []
    work = work_dir or os.environ.get("FLYWHEEL_WORK_DIR")
    if work:
        sets.append(f"work_dir={work}")
    if lake_uri:
        sets.append(f"lake.root={lake_uri}")
    if mlflow_uri:
        sets.append(f"mlflow.tracking_uri={mlflow_uri}")
    cfg = load_config(path, sets)
    return cfg, Lake.from_config(cfg)


def event_days(start: str | None, end: str | None) -> list[tuple[str, str, dt.date]]:
    """delta-rs partition filters on ``event_date`` for the days from ``start`` to ``end`` (ISO dates; None: open)."""
    filters: list[tuple[str, str, dt.date]] = []
    if start:
        filters.append(("event_date", ">=", dt.date.fromisoformat(start)))
    if end:
        filters.append(("event_date", "<=", dt.date.fromisoformat(end)))
    return filters


def read_events(lake: Lake, columns: list[str], *, start: str | None = None, end: str | None = None) -> pa.Table:
    """The given columns of silver.events on the days from ``start`` to ``end`` (whole partitions only)."""
    filters = event_days(start, end)
    return lake.read_arrow("silver.events", columns=columns, filters=filters or None)


BIG_READ_ROWS = 5_000_000
"""Above this many rows in the partitions read, ``engine="auto"`` counts on the config's Spark engine."""

Engine = Literal["auto", "spark", "delta-rs"]


def rows_in(lake: Lake, name: str, *, start: str | None = None, end: str | None = None) -> int:
    """Rows of a table from the Delta log's per-file statistics (no data read).

    silver.events counts only the event days from ``start`` to ``end``; other tables count whole.
    """
    table = lake.delta(name)
    if table is None:
        return 0
    actions = pa.table(table.get_add_actions(flatten=True))
    if name == "silver.events" and "partition.event_date" in actions.column_names:
        days = actions.column("partition.event_date").cast(pa.string())
        keep = pc.and_(
            pc.greater_equal(days, start) if start else pc.is_valid(days),
            pc.less_equal(days, end) if end else pc.is_valid(days),
        )
        actions = actions.filter(keep)
    return int(pc.sum(actions.column("num_records")).as_py() or 0)


def count_by(
    cfg: FlywheelConfig,
    lake: Lake,
    name: str,
    keys: list[str],
    *,
    start: str | None = None,
    end: str | None = None,
    engine: Engine = "auto",
) -> tuple[pd.DataFrame, str]:
    """Rows of a table per ``keys`` (column ``count``), counted where it is cheapest, and the engine that did it.

    ``auto`` counts on the engine the config names (a Spark session: Sail here, the cluster with a cluster config)
    when the rows read exceed :data:`BIG_READ_ROWS`, so only the counts reach the notebook; below that it reads the
    key columns through delta-rs and counts in Arrow. silver.events is bounded by ``start``/``end`` either way.
    """
    use_spark = engine == "spark" or (engine == "auto" and rows_in(lake, name, start=start, end=end) > BIG_READ_ROWS)
    if use_spark:
        from pyspark.sql import functions as F

        from socialflywheel.spark import get_session

        df = lake.read(get_session(cfg), name)
        if name == "silver.events":
            df = df.where(F.col("event_date") >= F.lit(start)) if start else df
            df = df.where(F.col("event_date") <= F.lit(end)) if end else df
        counted: pd.DataFrame = df.groupBy(*keys).count().toPandas()
        return counted.sort_values(keys, kind="stable", ignore_index=True), "spark"
    filters = event_days(start, end) if name == "silver.events" else []
    data = lake.read_arrow(name, columns=keys, filters=filters or None)
    grouped = data.group_by(keys).aggregate([([], "count_all")]).rename_columns([*keys, "count"]).to_pandas()
    return grouped.sort_values(keys, kind="stable", ignore_index=True), "delta-rs"

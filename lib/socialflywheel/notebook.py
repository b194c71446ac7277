"""What the notebooks share: their parameters turned into a config and a lake, and event reads bounded by dates.

The notebooks are parameterized for papermill (a cell tagged ``parameters``): ``CONF`` (a config file; relative
paths are tried against the repository too), ``WORK_DIR``, ``LAKE_URI`` (an object-store lake such as
``s3a://bucket/lake``), ``MLFLOW_URI`` (a tracking server) and ``START``/``END`` (ISO dates bounding the events
shown). They read through delta-rs (``Lake.read_arrow``): only the columns and date partitions they show.
They never train, register or promote anything.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import TYPE_CHECKING

from socialflywheel.config import REPO_ROOT, FlywheelConfig, load_config
from socialflywheel.lake.io import Lake

if TYPE_CHECKING:
    import pyarrow as pa


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

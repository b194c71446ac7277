"""`flywheel maintain`: retention, compaction, vacuum and log clean-up of every table, through delta-rs."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog import CATALOG, Table
from socialflywheel.lake.maintenance import cleanup_log, compact, describe, vacuum
from socialflywheel.lake.storage import join, remove_tree
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config.models import RetentionConfig
    from socialflywheel.config.stages import MaintainConfig
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)


def retention_class(table: Table) -> tuple[str, str] | None:
    """The retention class (a field of ``privacy.retention_days``) of a table and its date column, or None."""
    if table.name == "bronze.quarantine":
        return "quarantine", "ingest_date"
    if table.name == "bronze.events":
        return "bronze", "event_date"
    if table.layer == "gold" and "as_of_date" in table.partition_by:
        return "snapshots", "as_of_date"
    return None


def retention_predicate(table: Table, retention_days: RetentionConfig, *, today: dt.date) -> str | None:
    """The partition predicate of rows past their retention, or None when the table keeps everything.

    Raises:
        ValueError: a retention below one day (the config refuses it; a model built by hand is checked again,
            since a negative one would delete every partition).
    """
    found = retention_class(table)
    if found is None:
        return None
    name, column = found
    days: int | None = getattr(retention_days, name)
    if days is None:
        return None
    if days < 1:
        raise ValueError(f"privacy.retention_days.{name}={days}: a retention must be at least one day")
    cutoff = today - dt.timedelta(days=days)
    return f"{column} < '{cutoff.isoformat()}'"


@dataclass(kw_only=True)
class MaintainResult(JobResult):
    """What a maintain run did across the lake's tables.

    ``rows_in`` is 0; ``rows_out`` is the rows expired by retention (the only rows the run changes).
    """

    tables: int = 0
    """Existing tables maintained."""
    expired_rows: int = 0
    """Rows deleted for being past their retention, over every table."""
    files_compacted: int = 0
    """Small files rewritten by compaction, over every table."""
    files_vacuumed: int = 0
    """Unreferenced files removed by vacuum, over every table."""


def run_maintain(spark: SparkSession, lake: Lake, m: MaintainConfig, *, retention: RetentionConfig) -> MaintainResult:
    """Apply retention, compact small files, vacuum and clean the log of every existing table.

    Args:
        spark: unused (maintenance goes through delta-rs); the job contract passes it.
        lake: the tables to maintain.
        m: the ``maintain`` section (compaction, vacuum and log retention).
        retention: days kept per class of table (``privacy.retention_days``).

    Returns:
        The tables maintained and the rows expired and files compacted and vacuumed over all of them.
    """
    today = dt.datetime.now(dt.UTC).date()
    # Every table's retention is checked before the first delete: a bad one stops the run with nothing removed.
    predicates = {name: retention_predicate(CATALOG[name], retention, today=today) for name in CATALOG}
    done: dict[str, dict[str, int]] = {}
    for name in sorted(CATALOG):
        delta = lake.delta(name)
        if delta is None:
            continue
        step: dict[str, int] = {}
        predicate = predicates[name]
        if predicate:
            metrics = delta.delete(predicate)
            step["expired_rows"] = int(metrics.get("num_deleted_rows", 0) or 0)
        info = describe(lake, name) or {}
        if info.get("files", 0) >= m.compact_min_files:
            metrics = compact(lake, name)
            step["files_compacted"] = int(metrics.get("numFilesRemoved", 0) or 0)
        step["files_vacuumed"] = len(vacuum(lake, name, retention_hours=m.vacuum_retention_hours))
        cleanup_log(lake, name, log_retention=f"interval {m.log_retention_hours} hours")
        lake.versions_written[name] = lake.version(name) or 0
        done[name] = step
    remove_tree(join(lake.root, "_staging"))  # leftovers of killed batches, on disk or in a bucket
    expired = sum(s.get("expired_rows", 0) for s in done.values())
    vacuumed = sum(s.get("files_vacuumed", 0) for s in done.values())
    log.info("maintain: %d tables, %d expired rows, %d files vacuumed", len(done), expired, vacuumed)
    return MaintainResult(
        tables=len(done),
        expired_rows=expired,
        files_compacted=sum(s.get("files_compacted", 0) for s in done.values()),
        files_vacuumed=vacuumed,
        rows_out=expired,
    )

"""Steps of an ingest batch kept apart from its bookkeeping: timer, parse error line, ranks, source mapping."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from socialflywheel.ingest.lines import LandingParseError
from socialflywheel.ingest.mapped_batch import SEEN_PREFIX
from socialflywheel.ingest.mapping import Mapper, load_source, record_fields

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from socialflywheel.config.stages import IngestConfig

log = logging.getLogger(__name__)


@contextmanager
def timed_step(seconds: dict[str, float], batch_id: str, name: str) -> Iterator[None]:
    """Time one step of a batch into ``seconds`` and log it (where a slow ingest spends its time)."""
    t0 = time.perf_counter()
    try:
        yield
    finally:
        seconds[name] = round(seconds.get(name, 0.0) + time.perf_counter() - t0, 2)
        log.info("batch %s: %s took %.1f s", batch_id, name, seconds[name])


def parse_failure(exc: Exception, batch_id: str) -> Exception:
    """The one-line error for a failed parse step, when it came from parsing a landing file (else ``exc`` itself).

    The engine wraps an error raised in a parse task in its own, with the task's traceback; the line the task
    raised names the file and line.
    """
    text = str(exc)
    marker = f"{LandingParseError.__name__}: "
    if isinstance(exc, LandingParseError) or marker in text:
        line = text.split(marker, 1)[-1].splitlines()[0] if marker in text else text
        return LandingParseError(f"batch {batch_id} failed, nothing written: {line}")
    return exc


def ranked(parsed: DataFrame) -> DataFrame:
    """The parsed rows with ``_rn``, null for a rejected row.

    A valid row's ``_rn`` is its place among the batch's rows of its event id, by file and line: 1 is the one taken.
    Only the ids that repeat are ranked with a window: every other valid row is 1 (a window over the whole batch
    sorted every row with its raw bytes, a third of a batch's time for the few repeats a batch holds).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    ok = parsed.filter(F.col("status").isNull())
    repeats = ok.groupBy("event_id").agg(F.count(F.lit(1)).alias("_n")).where(F.col("_n") > 1).select("event_id")
    # The repeated ids on the left: the engine builds its hash table from them and streams the batch through.
    flagged = repeats.withColumn("_repeat", F.lit(True)).join(ok, "event_id", "right")
    by_id = Window.partitionBy("event_id").orderBy("source_file", "line_no")
    once = flagged.where(F.col("_repeat").isNull()).drop("_repeat").withColumn("_rn", F.lit(1))
    again = flagged.where(F.col("_repeat")).drop("_repeat").withColumn("_rn", F.row_number().over(by_id))
    rejected = parsed.filter(F.col("status").isNotNull()).withColumn("_rn", F.lit(None).cast("int"))
    return once.unionByName(again).unionByName(rejected)


def field_mapping(ingest: IngestConfig) -> dict[str, str] | Mapper:
    """What maps landing records onto the contract: the source mapping ``ingest.source`` names, or the renames."""
    return Mapper(load_source(ingest.source)) if ingest.source else ingest.field_mapping


def warn_unseen_paths(parsed: DataFrame, mapper: Mapper, batch_id: str) -> None:
    """Warn of each path of the source mapping that no record of the batch held (a typo, or a field gone).

    Mapped events carry the paths their record held as hex bits in ``detail``; the distinct values are few. The
    warning lists the fields the batch's first records do have.
    """
    from pyspark.sql import functions as F

    masks = parsed.where(F.col("status").isNull() & F.col("detail").startswith(F.lit(SEEN_PREFIX)))
    seen = 0
    for row in masks.select("detail").distinct().collect():
        seen |= int(row["detail"][len(SEEN_PREFIX) :], 16)
    unseen = mapper.unseen(seen) if seen else []
    if not unseen:
        return
    fields = record_fields([_json_or_none(bytes(row["raw"])) for row in parsed.select("raw").limit(50).collect()])
    have = ", ".join(fields[:60]) + (f" (+{len(fields) - 60} more)" if len(fields) > 60 else "")
    for path in unseen:
        log.warning(
            "batch %s: source %s: %s matched no record of the batch (a typo, or a field this source lacks);"
            " the records have: %s",
            batch_id,
            mapper.source.name,
            path,
            have,
        )


def _json_or_none(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None

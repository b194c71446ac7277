"""Landing -> bronze: validated, reconciled, idempotent batches with a ledger of files taken."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from socialflywheel import progress
from socialflywheel.faults import kill_point
from socialflywheel.ingest.landing import LandingFile, discover_some, limits_from, on_or_before, split_batches
from socialflywheel.ingest.lines import parse_files
from socialflywheel.ingest.mapping import Mapper
from socialflywheel.ingest.redelivery import changed_redeliveries
from socialflywheel.ingest.schema_change import StatusCount, check_breaking
from socialflywheel.ingest.steps import field_mapping, parse_failure, ranked, timed_step, warn_unseen_paths
from socialflywheel.lake.catalog import table
from socialflywheel.lake.storage import remove_tree
from socialflywheel.privacy import suppression
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.config.models import PrivacyConfig
    from socialflywheel.config.stages import IngestConfig
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)


class ReconciliationError(RuntimeError):
    """rows in != rows new + rows already present + rows quarantined."""


@dataclass(kw_only=True)
class IngestResult(JobResult):
    """The reconciliation of an ingest: of one batch, or summed over the batches of a run (see :meth:`add`).

    ``rows_in`` counts the parsed rows (a landing line, or each event a source record maps to); ``rows_out``
    the rows written (new to bronze.events plus quarantined). The reconciliation: ``rows_in == rows_new +
    rows_present + rows_quarantined``.
    """

    batch_id: str | None = None
    """The batch's id (of a run: its last batch's); None when there was nothing new to take."""
    batches: int = 0
    """Batches taken (1 for one batch)."""
    files: int = 0
    """Landing files taken (a file taken in parts counts in the batch of its last part)."""
    changed_files: int = 0
    """Landing files taken again because their content changed since they were first taken."""
    rows_new: int = 0
    """Rows added to bronze.events."""
    rows_present: int = 0
    """Valid rows whose event id was already in bronze.events (a replay or a changed file)."""
    rows_quarantined: int = 0
    """Rows sent to bronze.quarantine (invalid, or an event id repeated within the batch)."""
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    """Quarantined rows per reason, sorted by reason."""
    reconciled: bool = True
    """Whether rows in = rows new + rows present + rows quarantined."""
    step_seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each step of a batch (parse, rank, count, load), summed over the batches."""

    def add(self, other: IngestResult) -> IngestResult:
        """This run's figures with one more batch's added (its batch id becomes the latest)."""
        by_reason = Counter(self.quarantined_by_reason)
        by_reason.update(other.quarantined_by_reason)
        seconds = Counter(self.step_seconds)
        seconds.update(other.step_seconds)
        total = IngestResult(
            batch_id=other.batch_id or self.batch_id,
            batches=self.batches + other.batches,
            files=self.files + other.files,
            changed_files=self.changed_files + other.changed_files,
            rows_in=self.rows_in + other.rows_in,
            rows_new=self.rows_new + other.rows_new,
            rows_present=self.rows_present + other.rows_present,
            rows_quarantined=self.rows_quarantined + other.rows_quarantined,
            quarantined_by_reason=dict(sorted(by_reason.items())),
            rows_out=self.rows_out + other.rows_out,
            step_seconds={k: round(v, 2) for k, v in seconds.items()},
        )
        total.reconciled = total.rows_in == total.rows_new + total.rows_present + total.rows_quarantined
        return total


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def batch_id_for(files: list[LandingFile], started: dt.datetime) -> str:
    """A new batch's id: its start time, a digest of its files' contents and a random part."""
    digest = hashlib.sha256("".join(f.sha256 for f in files).encode()).hexdigest()[:10]
    # A random part too: a re-run of the same files within the same second (after a kill) is a new batch.
    return f"b{started:%Y%m%dT%H%M%S}-{digest}-{uuid.uuid4().hex[:6]}"


def pending_files(lake: Lake, files: list[LandingFile]) -> tuple[list[LandingFile], list[str]]:
    """Files not yet in the ledger, and the names among them whose content changed since taken."""
    ledger = lake.read_arrow("bronze.ingested_files", columns=["path", "sha256"]).to_pylist()
    taken = {(r["path"], r["sha256"]) for r in ledger}
    known = {r["path"] for r in ledger}
    new = [f for f in files if (f.rel, f.sha256) not in taken]
    changed = [f.rel for f in new if f.rel in known]
    for name in changed:
        log.warning("landing file %s changed since it was ingested: its rows are taken again by event_id", name)
    return new, changed


def _staging_dir(lake: Lake, batch_id: str) -> str:
    return f"{lake.root}/_staging/{batch_id}"


def run_ingest(
    spark: SparkSession,
    lake: Lake,
    ingest: IngestConfig,
    *,
    landing: str,
    privacy: PrivacyConfig,
    until: dt.date | None = None,
) -> IngestResult:
    """Take new landing files into bronze.events; rejected rows go to bronze.quarantine.

    New files are taken in batches of at most ``ingest.max_batch_bytes`` and ``ingest.max_batch_lines`` lines
    (memory stays bounded at any size, a file of more lines is taken in parts); each batch is reconciled and
    recorded on its own.

    Args:
        spark: the session that parses and merges.
        lake: where bronze.events, bronze.quarantine, the ledger and the batch records go.
        ingest: the ``ingest`` section (format, limits, field mapping, batch bounds).
        landing: the landing location, a local folder or an object-store URI (``ingest.landing_dir``, resolved).
        privacy: the ``privacy`` section: its key finds re-delivered lines of people on the suppression list
            (asked for only when somebody was erased).
        until: the logical date of a dated run: files in a landing partition after it (``date=YYYY-MM-DD`` in
            their path) are left for the run of their day; undated files are taken by any run.

    Returns:
        The reconciliation summed over the batches (rows in, new, already present, quarantined by reason).
    """
    found = on_or_before(discover_some(landing, ingest.format), until)
    new_files, changed = pending_files(lake, found)
    total = IngestResult()
    if not new_files:
        log.info("no new landing files under %s (%d already taken)", landing, len(found))
        return total
    for f in new_files:
        if f.problem:
            log.warning("landing file %s: %s; it is quarantined as one row, its lines are not taken", f.rel, f.problem)
    groups = split_batches(
        new_files,
        max_files=ingest.max_files_per_batch,
        max_bytes=ingest.max_batch_bytes,
        max_lines=ingest.max_batch_lines,
    )
    listed = suppression.tokens(lake)
    erased = suppression.Erased(privacy.hmac_key(), listed) if listed else None
    rows_taken: Counter[str] = Counter()
    with progress.task("ingest", total=sum(f.line_count for g in groups for f in g), unit="lines") as bar:
        for i, group in enumerate(groups, 1):
            bar.describe(f"ingest batch {i}/{len(groups)}")
            redone = [c for c in changed if c in {f.rel for f in group if f.completes}]
            total = total.add(ingest_batch(spark, lake, ingest, group, redone, rows_taken, erased))
            bar.advance(sum(f.line_count for f in group))
    return total


def ingest_batch(
    spark: SparkSession,
    lake: Lake,
    ingest: IngestConfig,
    new_files: list[LandingFile],
    changed: list[str],
    rows_taken: Counter[str] | None = None,
    erased: suppression.Erased | None = None,
) -> IngestResult:
    """Parse, validate, reconcile and load one batch of landing files.

    Args:
        spark: the session that parses and merges.
        lake: where bronze.events, bronze.quarantine and the batch records go.
        ingest: the ``ingest`` section (format, limits, field mapping).
        new_files: the batch's landing files (or parts of files), none of them in the ledger yet.
        changed: the names among ``new_files`` whose content changed since they were taken.
        rows_taken: rows per file taken by earlier batches of this run: a file taken in parts is recorded in
            the ledger, with all its rows, by the batch of its last part. Updated in place.
        erased: the suppression list and the key that recognizes its people in raw ids; their lines become
            content-free quarantine rows.

    Returns:
        The batch's reconciliation (``batches`` is 1).
    """
    from pyspark.sql import functions as F

    fmt = ingest.format
    started = _utcnow()
    batch_id = batch_id_for(new_files, started)
    log.info("batch %s: %d landing files (%d changed since taken)", batch_id, len(new_files), len(changed))

    staging = _staging_dir(lake, batch_id)
    seconds: dict[str, float] = {}
    try:
        with timed_step(seconds, batch_id, "parse"):
            mapping = field_mapping(ingest)
            parsed = parse_files(spark, new_files, fmt=fmt, limits=limits_from(ingest), mapping=mapping)
            try:
                parsed.write.mode("overwrite").parquet(staging)
            except Exception as exc:
                raise parse_failure(exc, batch_id) from None
        kill_point("ingest.after_staging")
        parsed = spark.read.parquet(staging)
        if isinstance(mapping, Mapper):
            warn_unseen_paths(parsed, mapping, batch_id)
        if erased is not None:
            parsed = suppression.mark_erased(parsed, erased)
        # Ranked once and staged: the counts, the quarantine and the merge below all read the ranks (recomputing
        # the window over event_id, and any erasure marking, for each of them cost a third of a batch's time).
        with timed_step(seconds, batch_id, "rank"):
            ranked(parsed).write.mode("overwrite").parquet(f"{staging}-ranked")
        parsed = spark.read.parquet(f"{staging}-ranked")
        with timed_step(seconds, batch_id, "status counts"):
            stats = (
                parsed.groupBy("source_file", "status", F.substring_index(F.col("detail"), ":", 1).alias("detail"))
                .agg(F.count(F.lit(1)).alias("n"))
                .collect()
            )
        stats_rows = [
            StatusCount(source_file=r["source_file"], status=r["status"], detail=r["detail"], n=int(r["n"]))
            for r in stats
        ]
        check_breaking(stats_rows, share=ingest.breaking_share, batch_id=batch_id)
        loaded = _load_batch(spark, lake, parsed, batch_id=batch_id, started=started, seconds=seconds)
    finally:
        remove_tree(staging)
        remove_tree(f"{staging}-ranked")

    rows_per_file = Counter[str]() if rows_taken is None else rows_taken
    for r in stats_rows:
        rows_per_file[r.source_file] += r.n
    taken = [f for f in new_files if f.completes]
    result = replace(loaded, files=len(taken), changed_files=len(changed), step_seconds=seconds)
    _record(lake, taken, changed, rows_per_file, result, batch_id=batch_id, started=started)
    for f in taken:
        rows_per_file.pop(f.rel, None)
    return result


def _load_batch(
    spark: SparkSession,
    lake: Lake,
    parsed: DataFrame,
    *,
    batch_id: str,
    started: dt.datetime,
    seconds: dict[str, float] | None = None,
) -> IngestResult:
    """Reconcile one parsed batch and merge its new rows into bronze.events and its rejects into bronze.quarantine.

    ``parsed`` carries the ranks of :func:`~socialflywheel.ingest.steps.ranked`; each step's wall time goes into
    ``seconds``.
    """
    seconds = {} if seconds is None else seconds
    from pyspark.sql import functions as F

    now = F.lit(started).cast("timestamp")
    ranked = parsed.filter(F.col("status").isNull())
    parsed = parsed.drop("_rn")
    unique = ranked.filter(F.col("_rn") == 1).drop("_rn")
    dups = (
        ranked.filter(F.col("_rn") > 1)
        .drop("_rn")
        .withColumn("status", F.lit("duplicate"))
        .withColumn("detail", F.concat(F.lit("event_id repeated in batch: "), F.col("event_id")))
    )
    changed, rows_present, rows_changed = unique.limit(0), 0, 0
    if lake.exists("bronze.events"):
        bronze = lake.read(spark, "bronze.events")
        present = unique.join(bronze.select("event_id"), "event_id", "left_semi")
        with timed_step(seconds, batch_id, "presence check"):
            rows_present = present.count()
            if rows_present:  # a re-delivery that changed the event is rejected as an in-batch repeat would be
                changed = changed_redeliveries(present, bronze)
                rows_changed = changed.count()
    changed = changed.withColumn("status", F.lit("duplicate")).withColumn(
        "detail", F.concat(F.lit("event_id already in bronze with other content: "), F.col("event_id"))
    )
    rejected = parsed.filter(F.col("status").isNotNull()).unionByName(dups).unionByName(changed)
    quarantine = rejected.select(
        "raw",
        F.col("status").alias("reason"),
        "detail",
        "source_file",
        "file_sha256",
        "line_no",
        F.lit(batch_id).alias("batch_id"),
        now.alias("quarantined_at"),
        F.to_date(now).alias("ingest_date"),
    )
    with timed_step(seconds, batch_id, "reconcile"):
        rows_in = parsed.count()
        by_reason = {
            r["reason"]: r["n"] for r in quarantine.groupBy("reason").agg(F.count(F.lit(1)).alias("n")).collect()
        }
        rows_quarantined = sum(by_reason.values())
        unique_rows = unique.count()
    rows_new = unique_rows - rows_present
    rows_present -= rows_changed  # counted among the quarantined
    reconciled = rows_in == rows_new + rows_present + rows_quarantined
    log.info(
        "batch %s: rows in %d = new %d + already present %d + quarantined %d -> %s",
        batch_id,
        rows_in,
        rows_new,
        rows_present,
        rows_quarantined,
        "reconciled" if reconciled else "MISMATCH",
    )
    if not reconciled:
        raise ReconciliationError(
            f"batch {batch_id}: rows in {rows_in} != new {rows_new} + present {rows_present}"
            f" + quarantined {rows_quarantined}"
        )
    # Order matters for a kill: each write is idempotent, the ledger last (a re-run takes the files, adds nothing).
    if rows_quarantined:
        with timed_step(seconds, batch_id, "merge quarantine"):
            lake.merge(spark, quarantine, "bronze.quarantine")
        kill_point("ingest.after_quarantine")
    if rows_new:
        events = unique.withColumn("batch_id", F.lit(batch_id)).withColumn("ingested_at", now)
        with timed_step(seconds, batch_id, "merge bronze.events"):
            lake.merge(spark, events.select(*table("bronze.events").column_names), "bronze.events")
        kill_point("ingest.after_bronze_merge")
    return IngestResult(
        batch_id=batch_id,
        batches=1,
        rows_in=rows_in,
        rows_new=rows_new,
        rows_present=rows_present,
        rows_quarantined=rows_quarantined,
        quarantined_by_reason=dict(sorted(by_reason.items())),
        rows_out=rows_new + rows_quarantined,
        reconciled=reconciled,
    )


def _record(
    lake: Lake,
    files: list[LandingFile],
    changed: list[str],
    rows_per_file: Counter[str],
    result: IngestResult,
    *,
    batch_id: str,
    started: dt.datetime,
) -> None:
    """Write the batch record to bronze.batches, then the files to the ledger (bronze.ingested_files)."""
    import pyarrow as pa

    now = _utcnow()
    ledger = pa.table(
        {
            "path": [f.rel for f in files],
            "size": pa.array([f.size for f in files], pa.int64()),
            "sha256": [f.sha256 for f in files],
            "batch_id": [batch_id] * len(files),
            "ingested_at": pa.array([now] * len(files), pa.timestamp("us")),
            "rows": pa.array([rows_per_file.get(f.rel, 0) for f in files], pa.int64()),
            "status": ["rejected" if f.problem else "changed" if f.rel in changed else "taken" for f in files],
        }
    )
    batch = pa.table(
        {
            "batch_id": [batch_id],
            "started_at": pa.array([started], pa.timestamp("us")),
            "ended_at": pa.array([now], pa.timestamp("us")),
            "files": pa.array([len(files)], pa.int64()),
            "rows_in": pa.array([result.rows_in], pa.int64()),
            "rows_new": pa.array([result.rows_new], pa.int64()),
            "rows_present": pa.array([result.rows_present], pa.int64()),
            "rows_quarantined": pa.array([result.rows_quarantined], pa.int64()),
            "reconciled": [result.reconciled],
            "changed_files": pa.array([changed], pa.list_(pa.string())),
            "quarantined_by_reason": pa.array(
                [list(result.quarantined_by_reason.items())], pa.map_(pa.string(), pa.int64())
            ),
        }
    )
    # The batch record goes first: a kill before the ledger makes the re-run take the files again (every
    # row then counts as already present), while conform still finds this batch's new rows.
    lake.write_arrow(batch, "bronze.batches")
    kill_point("ingest.after_batch_record")
    if files:  # none when the batch took a part of a file, not its last
        lake.write_arrow(ledger, "bronze.ingested_files")

"""Read, append, overwrite and merge catalog tables; every access records the Delta version it saw."""

from __future__ import annotations

import copy
import datetime
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlparse

from socialflywheel.lake.catalog import Table, table
from socialflywheel.lake.period import bound_filters, bound_frame, partition_bound, period_of
from socialflywheel.lake.storage import delta_options, is_remote, locate

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pa_fs
    from deltalake import DeltaTable
    from deltalake.table import FilterType
    from pyspark.sql import DataFrame, DataFrameWriter, SparkSession
    from tenacity import RetryCallState

    from socialflywheel.config import FlywheelConfig

log = logging.getLogger(__name__)


# Sail (Spark Connect) returns a lost commit race as a SparkRuntimeException with an empty error condition and the
# message "Failed to commit transaction: <version>" (seen with pysail 0.7.2: three threads MERGE-ing into one table);
# only the message tells it apart. The other engines are classified by exception type or error condition.
# "Missing commit file": a read of the log raced another process's commit (seen once in tests/test_faults.py's two
# concurrent writers: "expected version 0, found 8"); every write is idempotent, so it is retried like a conflict.
SAIL_CONFLICT_MESSAGES = ("Failed to commit transaction", "Missing commit file")
# delta-rs retries its own commits this many times against newer versions before raising CommitFailedError.
DELTA_RS_COMMIT_RETRIES = 10


class CommitConflictError(RuntimeError):
    """A write lost its commit race more often than the retry budget allows."""


def is_commit_conflict(exc: BaseException) -> bool:
    """Whether a write failed because another writer committed first (and so may simply be repeated).

    delta-rs raises ``CommitFailedError``; classic Spark raises Delta's concurrent-modification exceptions, whose
    error conditions start with ``DELTA_CONCURRENT``; Sail's errors are text only (see SAIL_CONFLICT_MESSAGES).
    """
    from deltalake.exceptions import CommitFailedError

    if isinstance(exc, CommitFailedError):
        return True
    condition = getattr(exc, "getCondition", None)
    if callable(condition):
        try:
            if str(condition() or "").startswith("DELTA_CONCURRENT"):
                return True
        except Exception:  # a py4j error without a JVM to ask
            pass
    from pyspark.errors.exceptions.connect import SparkConnectException

    return isinstance(exc, SparkConnectException) and any(m in str(exc) for m in SAIL_CONFLICT_MESSAGES)


def with_commit_retry(write: Callable[[], object], *, table: str, attempts: int = 6, base_delay: float = 0.2) -> None:
    """Run a write; when another writer won the commit race, wait (exponential backoff, jitter) and try again.

    Every write of the lake is idempotent (MERGE on keys, overwrites of whole partitions, appends of
    run records), so repeating one whose commit failed cannot add anything twice. The policy is tenacity's.

    Raises:
        CommitConflictError: when the race was lost ``attempts`` times (the last conflict is its cause).
    """
    from tenacity import RetryError, Retrying, retry_if_exception, stop_after_attempt, wait_random_exponential

    def note(state: RetryCallState) -> None:
        log.warning("%s: commit conflict (attempt %d/%d), retrying", table, state.attempt_number, attempts)

    retrying = Retrying(
        retry=retry_if_exception(is_commit_conflict),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=base_delay, max=base_delay * 2**attempts),
        before_sleep=note,
    )
    try:
        retrying(write)
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        raise CommitConflictError(f"{table}: commit conflict persisted after {attempts} attempts") from cause


def _cast(data: pa.Table, t: Table) -> pa.Table:
    import pyarrow as pa

    try:
        return data.cast(t.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ValueError(f"{t.name}: data does not fit the catalog schema: {exc}") from exc


class Lake:
    """The lake under one root, addressed only by catalog names.

    Reads and writes are remembered in ``versions_read`` and ``versions_written`` so the run
    record and MLflow can store exactly which table versions a job saw and produced.
    """

    def __init__(self, root: str, *, storage_options: dict[str, str] | None = None) -> None:
        self.root = root.rstrip("/")
        self.storage_options = delta_options(self.root, storage_options)
        # On an object store, files are read by pyarrow's own S3 client rather than delta-rs's handler: with the
        # latter, a process aborts at exit now and then ("terminate called without an active exception",
        # delta-io/delta-rs#2184) after reading S3, failing a job that succeeded. One client per lake.
        self._store = locate(self.root) if is_remote(self.root) else None
        self.versions_read: dict[str, int] = {}
        self.versions_written: dict[str, int] = {}
        self.until: datetime.date | None = None
        """The logical date of a dated run (``bounded``): reads stop at it, writes never pass it. None: unbounded."""

    @classmethod
    def from_config(cls, cfg: FlywheelConfig) -> Lake:
        """The lake at the config's ``lake_root``, with its configured storage options."""
        return cls(cfg.lake_root, storage_options=cfg.lake.storage_options)

    def bounded(self, until: datetime.date | None) -> Lake:
        """This lake as a run for the logical date ``until`` sees it (itself when None).

        Every read of a table with a ``period_column`` keeps only rows on or before ``until`` (a timestamp column:
        before the next midnight UTC); an overwrite of a table partitioned by it replaces only partitions on or
        before ``until``, so a backfill of day D never touches what the runs of later days wrote. Snapshot tables
        (no period column) are read and written whole. The copy shares the versions read and written.
        """
        if until is None:
            return self
        out = copy.copy(self)
        out.until = until
        return out

    # Locations and metadata -------------------------------------------------------------------
    def path(self, name: str) -> str:
        """Where a catalog table lives: ``<root>/<layer>/<short name>``."""
        t = table(name)
        return f"{self.root}/{t.layer}/{t.short}"

    def delta(self, name: str) -> DeltaTable | None:
        """The table's current version opened with delta-rs, or None when it is not a Delta table yet."""
        from deltalake import DeltaTable

        path = self.path(name)
        if not DeltaTable.is_deltatable(path, storage_options=self.storage_options):
            return None
        return DeltaTable(path, storage_options=self.storage_options)

    def exists(self, name: str) -> bool:
        """Whether the table has been written (is a Delta table)."""
        return self.delta(name) is not None

    def version(self, name: str) -> int | None:
        """The table's current Delta version, or None when it does not exist; not recorded as read."""
        dt = self.delta(name)
        return None if dt is None else dt.version()

    def _note_read(self, name: str, version: int | None) -> None:
        if version is not None:
            self.versions_read.setdefault(name, version)

    def _note_write(self, name: str) -> None:
        version = self.version(name)
        if version is not None:
            self.versions_written[name] = version

    # Reads ---------------------------------------------------------------------------------------
    def read(self, spark: SparkSession, name: str, *, version: int | None = None) -> DataFrame:
        """Read a table as a DataFrame (an empty one with the catalog schema if it does not exist yet)."""
        t = table(name)
        if self.until is not None and version is None:
            from socialflywheel.lake.derived import FROM_EVENTS

            if name in FROM_EVENTS:  # state as of the day: rebuilt from that day's events, not today's state filtered
                return FROM_EVENTS[name](self.read(spark, "silver.events")).select(*t.column_names)
        current = self.version(name)
        if current is None:
            return spark.createDataFrame([], t.ddl)
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        self._note_read(name, version if version is not None else current)
        return bound_frame(reader.load(self.path(name)), name, self.until)

    def read_arrow(
        self,
        name: str,
        *,
        columns: Sequence[str] | None = None,
        filters: FilterType | None = None,
        version: int | None = None,
    ) -> pa.Table:
        """Read a table through delta-rs into Arrow (for graph backends, trainers and notebooks)."""
        import pyarrow as pa

        dt = self.delta(name)
        if dt is None:
            wanted = list(columns) if columns else table(name).column_names
            return pa.table({c: pa.array([], pa.null()) for c in wanted})
        if version is not None:
            dt.load_as_version(version)
        self._note_read(name, dt.version())
        filters = bound_filters(name, filters, self.until)
        filesystem = None
        if self._store is not None:
            import pyarrow.fs as pa_fs

            t = table(name)
            filesystem = pa_fs.SubTreeFileSystem(f"{self._store.path}/{t.layer}/{t.short}", self._store.fs)
        return dt.to_pyarrow_table(columns=list(columns) if columns else None, filters=filters, filesystem=filesystem)

    def data_files(self, name: str) -> tuple[pa_fs.FileSystem, list[str], int] | None:
        """The current version's data files, for readers that stream file by file.

        Returns:
            The pyarrow filesystem (local, or the lake's S3 client), the files' paths inside it and the version
            (recorded as read); None when the table does not exist.
        """
        import pyarrow.fs as pa_fs

        dt = self.delta(name)
        if dt is None:
            return None
        version = dt.version()
        self._note_read(name, version)
        column = partition_bound(name, self.until)
        if column is None and period_of(name, self.until) is not None:
            raise ValueError(f"{name}: a dated run streams only tables partitioned by their period column")
        uris = dt.file_uris(partition_filters=[(column, "<=", str(self.until))] if column else None)
        if self._store is None:
            return pa_fs.LocalFileSystem(), [u.removeprefix("file://") for u in uris], version
        keys = [f"{parsed.netloc}{unquote(parsed.path)}" for parsed in map(urlparse, uris)]  # bucket/key
        return self._store.fs, keys, version

    # Writes --------------------------------------------------------------------------------------
    def _conform(self, df: DataFrame, t: Table) -> DataFrame:
        """The catalog columns in order, each cast to its catalog type; a missing column fails naming the table.

        The cast is what keeps an edge case's inferred type out of the lake: an empty category vocabulary made
        ``category_affinity`` an ``array<void>``, which Delta refuses ("Invalid data type for Delta Lake: Null").
        """
        from pyspark.sql import functions as F

        missing = [c for c in t.column_names if c not in df.columns]
        if missing:
            raise ValueError(f"{t.name}: DataFrame lacks catalog columns {missing}")
        types = t.column_types
        return df.select(*[F.col(c).cast(types[c]).alias(c) for c in t.column_names])

    def _writer(self, df: DataFrame, t: Table, mode: str) -> DataFrameWriter:
        writer = self._conform(df, t).write.format("delta").mode(mode)
        if t.partition_by:
            writer = writer.partitionBy(*t.partition_by)
        return writer

    def append(self, df: DataFrame, name: str) -> None:
        """Append ``df`` to a table (created on the first write), retrying a lost commit race."""
        t = table(name)
        with_commit_retry(lambda: self._writer(df, t, "append").save(self.path(name)), table=name)
        self._note_write(name)

    def overwrite(self, df: DataFrame, name: str, *, replace_where: str | None = None) -> None:
        """Overwrite a table, or only the rows matching ``replace_where`` (a partition predicate)."""
        t = table(name)
        writer = self._writer(df, t, "overwrite")
        column = partition_bound(name, self.until)
        if column is not None:  # a dated run never replaces a later day's partition
            bound = f"`{column}` <= '{self.until}'"
            replace_where = f"({replace_where}) AND {bound}" if replace_where else bound
        if replace_where and self.exists(name):
            writer = writer.option("replaceWhere", replace_where)
        with_commit_retry(lambda: writer.save(self.path(name)), table=name)
        self._note_write(name)

    def merge(
        self,
        spark: SparkSession,
        df: DataFrame,
        name: str,
        *,
        on: Sequence[str] | None = None,
        when_matched: Literal["ignore", "update", "delete"] = "ignore",
        insert: bool = True,
    ) -> None:
        """MERGE ``df`` into a table on its keys: insert new rows; update, delete or ignore matches."""
        t = table(name)
        keys = list(on or t.keys)
        if not keys:
            raise ValueError(f"{name} has no merge keys")
        if not self.exists(name):
            if not insert or when_matched == "delete":
                return
            # Created empty, then merged into: a blind append here wrote a batch twice when two runs both found
            # the table missing (each appended; both "reconciled"). Two creators race on version 0 and one loses
            # cleanly; both MERGEs then go through Delta's conflict check.
            self.create_if_missing(name)
        view = f"merge_src_{uuid.uuid4().hex[:12]}"
        src = df if when_matched == "delete" and not insert else self._conform(df, t)
        src.createOrReplaceTempView(view)
        cond = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        clauses = []
        if when_matched == "update":
            clauses.append("WHEN MATCHED THEN UPDATE SET *")
        elif when_matched == "delete":
            clauses.append("WHEN MATCHED THEN DELETE")
        if insert:
            clauses.append("WHEN NOT MATCHED THEN INSERT *")
        if not clauses:
            return
        sql = f"MERGE INTO delta.`{self.path(name)}` t USING {view} s ON {cond} {' '.join(clauses)}"
        with_commit_retry(lambda: spark.sql(sql).collect(), table=name)
        spark.catalog.dropTempView(view)
        self._note_write(name)

    def create_if_missing(self, name: str) -> None:
        """Create a table, empty, with its catalog schema and partitioning, unless it exists (race-safe)."""
        from deltalake import DeltaTable

        t = table(name)
        try:
            DeltaTable.create(
                self.path(name),
                t.schema,
                mode="ignore",
                partition_by=list(t.partition_by) or None,
                storage_options=self.storage_options,
            )
        except Exception:
            if not self.exists(name):  # not a lost race with another creator: a real failure
                raise

    def write_arrow(self, data: pa.Table, name: str, *, mode: Literal["append", "overwrite"] = "append") -> None:
        """Write a small Arrow table with delta-rs (run records, ledgers: no Spark needed).

        The data is cast to the catalog's schema, so a table gets the same Delta types whichever engine
        writes it first (a naive timestamp is taken as UTC; a lossy cast fails with the table's name).
        """
        from deltalake import CommitProperties, write_deltalake

        t = table(name)
        data = _cast(data.select(t.column_names), t)
        partition_by = list(t.partition_by) or None
        commit = CommitProperties(max_commit_retries=DELTA_RS_COMMIT_RETRIES)
        column = partition_bound(name, self.until)

        def write() -> None:
            if mode == "overwrite" and column is not None and self.exists(name):
                # As ``overwrite``: a dated run replaces no partition after its date.
                write_deltalake(
                    self.path(name),
                    data,
                    mode="overwrite",
                    predicate=f"{column} <= '{self.until}'",
                    partition_by=partition_by,
                    storage_options=self.storage_options,
                    commit_properties=commit,
                )
            else:
                write_deltalake(
                    self.path(name),
                    data,
                    mode=mode,
                    partition_by=partition_by,
                    storage_options=self.storage_options,
                    commit_properties=commit,
                )

        with_commit_retry(write, table=name)
        self._note_write(name)

"""Running a job (session, writer lease, run record) and the run records in audit.job_runs, failed runs included."""

from __future__ import annotations

import datetime as dt
import logging
import time
import traceback
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from socialflywheel.config import FlywheelConfig, config_hash
from socialflywheel.lake.io import Lake
from socialflywheel.results import JobResult
from socialflywheel.run_context import RunContext, current

log = logging.getLogger(__name__)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def write_run_record(lake: Lake, ctx: RunContext, *, status: str, cfg_hash: str, error: str | None) -> None:
    """Append the run's record (times, status, rows, Delta versions read and written, error) to audit.job_runs."""
    import pyarrow as pa

    ended = _utcnow()
    record = pa.table(
        {
            "run_id": [ctx.run_id],
            "job": [ctx.job],
            "started_at": pa.array([ctx.started_at], pa.timestamp("us")),
            "ended_at": pa.array([ended], pa.timestamp("us")),
            "status": [status],
            "rows_in": pa.array([int(ctx.rows_in)], pa.int64()),
            "rows_out": pa.array([int(ctx.rows_out)], pa.int64()),
            "versions_read": pa.array([list(lake.versions_read.items())], pa.map_(pa.string(), pa.int64())),
            "versions_written": pa.array([list(lake.versions_written.items())], pa.map_(pa.string(), pa.int64())),
            "config_hash": [cfg_hash],
            "error": pa.array([error], pa.string()),
        }
    )
    # The audit table itself is not listed among the versions written, to keep records stable.
    written = dict(lake.versions_written)
    lake.write_arrow(record, "audit.job_runs", mode="append")
    lake.versions_written = written


@contextmanager
def job_run(job: str, cfg: FlywheelConfig, lake: Lake) -> Iterator[RunContext]:
    """Record one run of ``job`` in audit.job_runs, whether it succeeds or fails."""
    ctx = RunContext(run_id=uuid.uuid4().hex, job=job, started_at=_utcnow())
    t0 = time.perf_counter()
    cfg_hash = config_hash(cfg)
    token = current.set(ctx)
    try:
        yield ctx
    except BaseException as exc:
        # KeyboardInterrupt and SystemExit are failures too; the record names the exception only.
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("job %s failed after %.1fs: %s", job, time.perf_counter() - t0, error)
        log.debug("%s", traceback.format_exc())
        try:
            write_run_record(lake, ctx, status="failed", cfg_hash=cfg_hash, error=error)
        except Exception as rec_exc:  # the original error matters more than the record
            log.error("could not write the run record: %s", rec_exc)
        raise
    else:
        write_run_record(lake, ctx, status="succeeded", cfg_hash=cfg_hash, error=None)
        log.info("job %s succeeded in %.1fs (run %s)", job, time.perf_counter() - t0, ctx.run_id)
    finally:
        current.reset(token)


def execute_job(name: str, cfg: FlywheelConfig, **kwargs: object) -> JobResult:
    """Open the session, run one job's library function and record the run in audit.job_runs.

    Args:
        name: The job's name in the registry.
        cfg: Resolved configuration.
        **kwargs: Extra keyword arguments for the job's library function, passed on as they are.

    Returns:
        The job's typed result, with the run id and the Delta versions the job read and wrote.
    """
    from socialflywheel.jobs_registry import JOBS
    from socialflywheel.lake.integrity import require_intact
    from socialflywheel.lake.io import Lake
    from socialflywheel.lake.storage import probe
    from socialflywheel.spark import get_session

    fn = JOBS[name].run
    lake = Lake.from_config(cfg)
    cfg.work_path.mkdir(parents=True, exist_ok=True)
    probe(lake.root, what="lake", must_exist=False)  # a missing bucket or refused credentials: one line, now
    # The lease before the session: on a cluster the session registers the application and takes executor cores
    # for its whole life, so a job that opened its session and then waited for the lease could hold every core
    # while the lease holder waits for one (seen on the 2-core test cluster: two ingests stuck for good).
    with job_lease(cfg, lake.root, name):
        require_intact(lake, job=name)  # a table whose log lost a commit is refused before any work
        spark = get_session(cfg)
        with job_run(name, cfg, lake) as ctx:
            result = fn(spark, cfg, lake, **kwargs)
            ctx.rows_in, ctx.rows_out = result.rows_in, result.rows_out
    result.run_id = ctx.run_id
    result.versions_read = dict(lake.versions_read)
    result.versions_written = {k: v for k, v in lake.versions_written.items() if k != "audit.job_runs"}
    return result


def job_lease(cfg: FlywheelConfig, root: str, job: str) -> AbstractContextManager[None]:
    """One writing job at a time (see ``lake.lease``): an S3 lease on an object store, a ``flock`` on a local lake."""
    import contextlib

    from socialflywheel.lake.lease import local_writer_lock, writer_lease
    from socialflywheel.lake.storage import is_remote

    if cfg.lake.writer_lease == "off":
        return contextlib.nullcontext()
    return writer_lease(root, job=job) if is_remote(root) else local_writer_lock(root, job=job)

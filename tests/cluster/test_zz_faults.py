"""Faults on the cluster path: a worker lost mid-job, a driver killed between commits, two ingests at once,
and locations that do not exist. (Named to run last: it kills and replaces a worker of the shared cluster.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from socialflywheel.cluster.standalone import LocalCluster, free_port, listening, stop_pid, wait_for
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake
from tests.cluster.compare import assert_same_rows
from tests.cluster.conftest import BUCKET, LANDING_PREFIX, Submitter
from tests.conftest import make_config

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

LANDING = f"s3a://{BUCKET}/{LANDING_PREFIX}"
INGEST_ONLY = ("--no-conform",)


def lake_sets(work: Path, prefix: str) -> list[str]:
    return [f"work_dir={work}", f"lake.root=s3a://{BUCKET}/{prefix}", f"ingest.landing_dir={LANDING}"]


def open_lake(work: Path, prefix: str) -> Lake:
    return Lake.from_config(make_config(work, *lake_sets(work, prefix)[1:]))


@pytest.fixture(scope="module")
def reference(s3_landing: str, submit: Submitter, tmp_path_factory: Any) -> Lake:
    """bronze of an uninterrupted ingest-only run on the cluster."""
    work = tmp_path_factory.mktemp("ref")
    submit("ingest", *lake_sets(work, "lake-ref"), job_args=INGEST_ONLY)
    return open_lake(work, "lake-ref")


def bronze_rows(lake: Lake) -> dict[str, Any]:
    events = lake.read_arrow("bronze.events").drop_columns(["batch_id", "ingested_at"])
    quarantine = lake.read_arrow("bronze.quarantine", columns=["file_sha256", "line_no", "raw", "reason"])
    return {"bronze.events": events, "bronze.quarantine": quarantine}


def assert_bronze_equal(lake: Lake, reference: Lake) -> None:
    got, want = bronze_rows(lake), bronze_rows(reference)
    for name in got:
        assert_same_rows(name, got[name], want[name])
    ids = got["bronze.events"].column("event_id").to_pylist()
    assert len(ids) == len(set(ids))  # every event once


def python_task_running(pid: int) -> bool:
    """Whether a worker's executor has started Python tasks (the ingest parser runs in them)."""
    try:
        kids = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return False
    for kid in kids:
        try:  # one zombie (a finished helper the JVM has not reaped) must not hide the others
            if "pyspark.daemon" in " ".join(kid.cmdline()):
                return True
        except psutil.Error:
            continue
    return False


def kill_tree(pid: int) -> int:
    """SIGKILL a process and everything under it (a node lost: worker JVM, executor JVM, Python workers)."""
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    for p in procs:
        try:
            p.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    return len(procs)


# The three faults below re-run the whole ingest against a reference run (seven cluster submissions, about half of
# the cluster suite's time): `make test-extended`. The same kill points and the single-writer lease run in `make test`
# on the embedded default (tests/test_faults.py, tests/lake/test_concurrent_runs.py) and the lease on S3 here
# (tests/cluster/test_lease.py).
@pytest.mark.extended
def test_worker_lost_mid_job_tasks_rerun_on_the_other(
    reference: Lake, spark_cluster: LocalCluster, submit: Submitter, tmp_path: Path
) -> None:
    proc, log = submit.start("ingest", *lake_sets(tmp_path, "lake-worker-loss"), job_args=INGEST_ONLY)
    busy: list[int] = []

    def some_worker_runs_python() -> bool:
        busy[:] = [i for i, w in enumerate(spark_cluster.workers) if python_task_running(w.pid)]
        return bool(busy)

    try:
        wait_for(some_worker_runs_python, what="Python tasks on a worker", timeout=300, log=log)
        slot = busy[0]
        assert kill_tree(spark_cluster.workers[slot].pid) >= 3  # worker, executor, Python worker(s)
        assert proc.wait(900) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for i, worker in enumerate(spark_cluster.workers):
            if worker.poll() is not None or not psutil.pid_exists(worker.pid):
                spark_cluster.start_worker(i)  # the shared cluster has two workers again
    assert busy, "no worker was killed"
    assert_bronze_equal(open_lake(tmp_path, "lake-worker-loss"), reference)


@pytest.mark.extended
@pytest.mark.parametrize("point", ["ingest.after_quarantine", "ingest.after_bronze_merge"])
def test_driver_killed_between_commits_then_rerun(
    reference: Lake, submit: Submitter, tmp_path: Path, point: str
) -> None:
    prefix = f"lake-kill-{point.split('.')[1]}"
    proc, _ = submit.start(
        "ingest", *lake_sets(tmp_path, prefix), job_args=INGEST_ONLY, env={"FLYWHEEL_KILL_AT": point}
    )
    assert proc.wait(900) != 0
    lake = open_lake(tmp_path, prefix)
    for name in sorted(CATALOG):  # every table that exists stays readable by delta-rs
        if lake.exists(name):
            lake.read_arrow(name)
    submit("ingest", *lake_sets(tmp_path, prefix), job_args=INGEST_ONLY)  # the lease of the dead driver is taken over
    assert_bronze_equal(open_lake(tmp_path, prefix), reference)


@pytest.mark.extended
def test_two_ingests_at_once_take_every_row_once(reference: Lake, submit: Submitter, tmp_path: Path) -> None:
    """The single-writer rule: the second job waits for the first's lease; nothing is lost or doubled."""
    sets = lake_sets(tmp_path, "lake-concurrent")
    runs = [submit.start("ingest", *sets, job_args=INGEST_ONLY) for _ in range(2)]
    for proc, log in runs:
        assert proc.wait(900) == 0, log.read_text()[-3000:]
    logs = " ".join(" ".join(log.read_text().split()) for _, log in runs)
    assert "waits for ingest" in logs  # one of them really met the other's lease
    lake = open_lake(tmp_path, "lake-concurrent")
    assert_bronze_equal(lake, reference)
    batches = [b for b in lake.read_arrow("bronze.batches").to_pylist() if b["rows_in"]]
    assert len(batches) == 1 and batches[0]["reconciled"]


def test_missing_landing_prefix_fails_with_one_line(submit: Submitter, tmp_path: Path) -> None:
    sets = [*lake_sets(tmp_path, "lake-missing"), f"ingest.landing_dir=s3a://{BUCKET}/no-such-landing"]
    out = submit("ingest", *sets, job_args=INGEST_ONLY, check=False)
    assert out.returncode != 0
    # spark-submit's Python runner merges the driver's stderr into its stdout
    assert f"ingest failed: landing folder s3a://{BUCKET}/no-such-landing does not exist" in out.stdout
    assert not open_lake(tmp_path, "lake-missing").exists("bronze.events")


def failing_ingest_line(sets: list[str], env: dict[str, str] | None = None) -> str:
    """Run `flywheel ingest` on the embedded default; it must exit 1 with exactly one `failed:` line: return it."""
    from socialflywheel.cluster.submit import submit_env
    from tests.conftest import REPO

    out = subprocess.run(
        [str(Path(sys.executable).with_name("flywheel")), "ingest", *(a for s in sets for a in ("--set", s))],
        cwd=REPO,
        env={**submit_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 1, out.stderr[-2000:]
    lines = [ln for ln in out.stderr.splitlines() if "failed:" in ln]
    assert len(lines) == 1, out.stderr[-2000:]
    return lines[0]


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ["lake.root=s3a://no-such-bucket/lake"],
            "lake s3a://no-such-bucket/lake: bucket 'no-such-bucket' does not exist",
        ),
        (
            [f"ingest.landing_dir=s3://{BUCKET}/nothing-here"],
            f"landing folder s3://{BUCKET}/nothing-here does not exist",
        ),
    ],
)
def test_bad_locations_fail_before_any_work(object_store: Any, tmp_path: Path, sets: list[str], message: str) -> None:
    """The same checks on the embedded default (Sail), through the CLI: exit 1 and one line naming the URI."""
    base = [
        f"work_dir={tmp_path}",
        f"lake.root=s3://{BUCKET}/lake-bad",
        f"ingest.landing_dir=s3://{BUCKET}/{LANDING_PREFIX}",
    ]
    started = time.monotonic()
    assert message in failing_ingest_line([*base, *sets])
    assert time.monotonic() - started < 120


def test_refused_credentials_fail_with_one_line(tmp_path: Path) -> None:
    """An S3 server that checks credentials (moto with IAM auth on) refuses unknown keys: exit 1, one line."""
    port = free_port()
    moto = subprocess.Popen(
        [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: listening(port), what="S3 server with auth")
        sets = [f"work_dir={tmp_path}", "lake.root=s3://locked/lake", "ingest.landing_dir=s3://locked/landing"]
        line = failing_ingest_line(sets, {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "AKIAX"})
    finally:
        stop_pid(moto)
    assert "s3://locked/lake cannot be reached" in line and "ACCESS_DENIED" in line, line

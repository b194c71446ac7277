"""The cluster suite's fixtures: an S3 object store, a standalone Spark cluster and the packed executor env.

Each is started once per test session on 127.0.0.1 with free ports, as separate processes, and stopped by
pid at the end: an S3 server (moto in server mode, a real S3 HTTP API), a Spark master and two workers
(one core each, bounded memory) launched with the ``spark-class`` of the pyspark distribution.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.cluster.standalone import LocalCluster, free_port, listening, start_cluster, stop_pid, wait_for
from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from tests.conftest import REPO, java_or_fail, make_config

JIT_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=240m"  # see small_cluster_conf

WORKER_MEMORY = "2g"
EXECUTOR_MEMORY = "1g"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "flywheel-test", "AWS_SECRET_ACCESS_KEY": "flywheel-test-secret"}
BUCKET = "flywheel"
LANDING_PREFIX = "landing"
HMAC_KEY = "dev-only-key-not-for-production"  # local.yaml's key: cluster pseudonyms must equal Sail's


@dataclass
class ObjectStore:
    """An S3 server on 127.0.0.1: its endpoint and the environment that reaches it."""

    endpoint: str
    env: dict[str, str]
    proc: subprocess.Popen[Any]

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", **_boto_creds())


def _boto_creds() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    }


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ObjectStore]:
    """A moto S3 server in its own process; this process's environment points at it for the session."""
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    port = free_port()
    moto = Path(sys.executable).with_name("moto_server")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(moto), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    env = {**CREDENTIALS, "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint, "FLYWHEEL_HMAC_KEY": HMAC_KEY}
    env["AWS_ALLOW_HTTP"] = "true"  # a plain-HTTP endpoint: Sail's object store refuses it otherwise
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        wait_for(lambda: listening(port), what="S3 server", log=log)
        store = ObjectStore(endpoint, env, proc)
        store.client().create_bucket(Bucket=BUCKET)
        yield store
    finally:
        stop_pid(proc)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def spark_cluster(object_store: ObjectStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A master and two one-core workers on 127.0.0.1; workers see the object store's credentials (a node role)."""
    java_or_fail()
    from socialflywheel.cluster.submit import submit_env

    root = tmp_path_factory.mktemp("spark-cluster")
    cluster = start_cluster(root, env=submit_env(), workers=2, cores=1, memory=WORKER_MEMORY)
    try:
        yield cluster
    finally:
        cluster.stop()


def event_log_dir(cluster: LocalCluster) -> Path:
    events = cluster.logs.parent / "events"
    events.mkdir(exist_ok=True)
    return events


@pytest.fixture(scope="session")
def executor_env() -> Path:
    """The packed executor environment (built once; rebuilt only when its inputs change)."""
    from socialflywheel.cluster.pack import build

    return build(REPO / "build" / "executor-env.tar.gz")


@pytest.fixture(scope="session")
def jars_dir() -> Path:
    jars = REPO / "jars"
    if not (jars / ".verified").exists():
        if os.environ.get("CI"):
            pytest.fail("jars/ is missing: `make jars` resolves them (make test runs it)")
        pytest.skip("jars/ is missing: run `make jars`")
    return jars


# Sizing for one-core, 2 GiB workers; event logs kept for the RAPIDS qualification tool.
def small_cluster_conf(cluster: LocalCluster) -> dict[str, str]:
    return {
        "spark.executor.cores": "1",
        "spark.executor.memory": EXECUTOR_MEMORY,
        "spark.executor.memoryOverhead": "512m",
        "spark.driver.memory": "1g",
        "spark.cores.max": "2",
        "spark.dynamicAllocation.enabled": "false",
        "spark.sql.shuffle.partitions": "4",
        # Delta rebuilds a table's snapshot from its log in spark.databricks.delta.snapshotPartitions tasks (50 by
        # default, sized for large logs): on two one-core executors and tables of a few files that was 95% of all
        # tasks the features job ran (6,800 of 7,118). Sized to the cluster, as Delta's docs advise for small tables.
        "spark.databricks.delta.snapshotPartitions": "2",
        # Two executors on one host: no stage waits 3 s for a "better" executor (Spark's default locality wait).
        "spark.locality.wait": "0s",
        # Every submission starts three JVMs (driver, two executors) that live for a minute or two on tiny data:
        # the C1 compiler alone, without C2's background compiles competing for the two cores. Stopping at C1 also
        # shrinks the JVM's default code cache from 240 MB to 48 MB, which the features job's generated code filled
        # on the driver ("Out of space in CodeCache for adapters", a CI-only failure): the usual size is restored.
        "spark.driver.extraJavaOptions": JIT_OPTIONS,
        "spark.executor.extraJavaOptions": JIT_OPTIONS,
        "spark.ui.enabled": "false",
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": event_log_dir(cluster).as_uri(),
    }


@dataclass
class Submitter:
    """Runs ``jobs/<job>.py`` on the test cluster with spark-submit, as a user would."""

    cluster: LocalCluster
    env_archive: Path
    jars: Path
    logs: Path

    def argv(
        self, job: str, *sets: str, job_args: tuple[str, ...] = (), conf: dict[str, str] | None = None
    ) -> list[str]:
        from socialflywheel.cluster.submit import submit_command

        return submit_command(
            job,
            master=self.cluster.master_url,
            env_archive=self.env_archive,
            jars_dir=self.jars,
            sets=sets,
            spark_conf={**small_cluster_conf(self.cluster), **(conf or {})},
            jars_on_nodes=True,
            job_args=job_args,
        )

    def start(
        self, job: str, *sets: str, job_args: tuple[str, ...] = (), env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[Any], Path]:
        """Start a submission in the background; its stdout and stderr go to one log file."""
        log = self.logs / f"{job}-{time.time_ns()}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                self.argv(job, *sets, job_args=job_args),
                cwd=REPO,
                env={**self.cluster.env, **(env or {})},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return proc, log

    def __call__(
        self,
        job: str,
        *sets: str,
        job_args: tuple[str, ...] = (),
        conf: dict[str, str] | None = None,
        timeout: float = 900,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        argv = self.argv(job, *sets, job_args=job_args, conf=conf)
        out = subprocess.run(argv, cwd=REPO, env=self.cluster.env, capture_output=True, text=True, timeout=timeout)
        name = f"{job}-{int(time.time() * 1000)}"
        (self.logs / f"{name}.out").write_text(out.stdout)
        (self.logs / f"{name}.err").write_text(out.stderr)
        if check and out.returncode != 0:
            raise AssertionError(f"spark-submit {job} exited {out.returncode}:\n{_tail(out.stderr)}")
        return out


def _tail(text: str, lines: int = 40) -> str:
    keep = [ln for ln in text.splitlines() if not ln.startswith(("\tat ", "26/", "25/")) and ln.strip()]
    return "\n".join(keep[-lines:])


@pytest.fixture(scope="session")
def submit(spark_cluster: LocalCluster, executor_env: Path, jars_dir: Path) -> Submitter:
    return Submitter(spark_cluster, executor_env, jars_dir, spark_cluster.logs)


@pytest.fixture(scope="session")
def s3_landing(tiny_lake: Any, object_store: ObjectStore) -> str:
    """The tiny platform's landing files copied to s3://BUCKET/landing/ (what a platform's log shipper does)."""
    client = object_store.client()
    local: Path = tiny_lake[0].landing_dir
    files = sorted(local.rglob("*.jsonl"))
    assert files
    for path in files:
        client.upload_file(str(path), BUCKET, f"{LANDING_PREFIX}/{path.relative_to(local)}")
    return f"{BUCKET}/{LANDING_PREFIX}"


@pytest.fixture(scope="session")
def sail_lake(tiny_lake: tuple[FlywheelConfig, Lake], spark: Any, tmp_path_factory: Any) -> tuple[FlywheelConfig, Lake]:
    """The same landing files on the embedded default: the tiny lake copied, then features and graph."""
    from socialflywheel.features.job import run_features
    from socialflywheel.graph.job import run_graph
    from tests.conftest import copy_lake

    cfg, lake = copy_lake(tiny_lake[0], tmp_path_factory.mktemp("sail") / "work")
    run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    run_graph(spark, lake, cfg.graph)
    return cfg, lake


LAKE = f"s3a://{BUCKET}/lake"
LANDING = f"s3a://{BUCKET}/{LANDING_PREFIX}"


def cluster_sets(work: Path) -> list[str]:
    return [f"work_dir={work}", f"lake.root={LAKE}", f"ingest.landing_dir={LANDING}", "spark.shuffle_partitions=4"]


@pytest.fixture(scope="session")
def cluster_lake(
    s3_landing: str, submit: Submitter, tmp_path_factory: pytest.TempPathFactory
) -> tuple[FlywheelConfig, Lake]:
    """The tiny platform's landing files through ingest, conform, features and graph on the cluster."""
    work = tmp_path_factory.mktemp("cluster-work")
    sets = cluster_sets(work)
    for job in ("ingest", "features", "graph"):  # `ingest` runs conform too, as `flywheel ingest` does
        submit(job, *sets)
    cfg = make_config(work, f"lake.root={LAKE}", f"ingest.landing_dir={LANDING}")
    return cfg, Lake.from_config(cfg)

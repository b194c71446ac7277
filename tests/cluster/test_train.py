"""Training and tracking on the cluster: ``jobs/train.py`` under spark-submit, the two-tower trained by Spark's
TorchDistributor in 2 executor processes (gloo), shards and models through the object store, MLflow on a real
``mlflow server --serve-artifacts``; the same job run locally (torchrun, 2 processes) on the same S3 lake."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.train_job import TrainResult
from tests.cluster.conftest import BUCKET, ObjectStore, Submitter, cluster_sets
from tests.conftest import make_config
from tests.jobs import train
from tests.mlflow_server import Server, assert_artifacts_on_server, mlflow_server_at
from tests.recsys.test_train_job import GOOD, SMALL

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SCRATCH = "scratch/recsys"
TRAIN = (*SMALL, *GOOD, "train.nproc=2", "train.refit_epochs=1")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with mlflow_server_at(tmp_path_factory.mktemp("mlflow-server")) as srv:
        yield srv


@pytest.fixture(scope="module")
def local_run(cluster_lake: tuple[FlywheelConfig, Lake], tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    """The embedded path: this process prepares from the S3 lake (delta-rs + the lake's S3 client), torchrun trains."""

    cfg = make_config(tmp_path_factory.mktemp("local-train"), f"lake.root={cluster_lake[1].root}", *TRAIN)
    return train(None, cfg, run_name="local")


@pytest.fixture(scope="module")
def cluster_run(
    cluster_lake: tuple[FlywheelConfig, Lake],
    submit: Submitter,
    server: Server,
    object_store: ObjectStore,
    tmp_path_factory: pytest.TempPathFactory,
) -> Any:
    """spark-submit jobs/train.py: TorchDistributor on the 2 workers; the driver's work dir is its own."""
    import mlflow

    work = tmp_path_factory.mktemp("cluster-train")
    sets = [
        *cluster_sets(work),
        *TRAIN,
        "train.launcher=distributor",
        f"train.shared_dir=s3a://{BUCKET}/{SCRATCH}",
        f"mlflow.tracking_uri={server.url}",
    ]
    # Executors train in the project's interpreter (torch is not in the packed Spark env: a CUDA torch is GBs;
    # on Kubernetes the image has it). The Spark jobs' UDFs still use the shipped env (test_pipeline).
    submit("train", *sets, conf={"spark.pyspark.python": sys.executable}, timeout=1500)
    client = mlflow.MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], filter_string="tags.job = 'train'"
    )
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return client, runs[0], work


def test_distributor_trains_on_two_executor_processes_from_the_object_store(cluster_run: Any) -> None:
    _, run, _ = cluster_run
    tags = run.data.tags
    assert tags["train.launcher"] == "distributor" and tags["train.world_size"] == "2"
    read_from = tags["train.read_from"].split(",")
    # the refit reads the prepared root and the selected model; every input came from the bucket
    assert len(read_from) == 2 and all(u.startswith(f"s3a://{BUCKET}/{SCRATCH}/") for u in read_from), read_from


def test_cluster_recall_is_within_001_of_the_local_run(cluster_run: Any, local_run: TrainResult) -> None:
    _, run, _ = cluster_run
    cluster = run.data.metrics["holdout_recall_at_50"]
    assert local_run.world_size == 2
    print(f"holdout Recall@50: cluster {cluster:.4f}, local {local_run.holdout_recall_at_50:.4f}", file=sys.stderr)
    assert abs(cluster - local_run.holdout_recall_at_50) <= 0.01, (cluster, local_run.holdout_recall_at_50)
    assert run.data.params["data.train_rows"] == str(local_run.rows_in)


def test_every_artifact_is_in_the_server_store_and_scratch_is_gone(
    cluster_run: Any, server: Server, object_store: ObjectStore
) -> None:
    client, run, work = cluster_run
    stored = assert_artifacts_on_server(client, server, run.info.run_id)
    assert any(p.name == "model.pt" for p in stored)
    assert not list(Path(work).rglob("mlruns")) and not (Path(work) / "mlartifacts").exists()
    listing = object_store.client().list_objects_v2(Bucket=BUCKET, Prefix=f"{SCRATCH}/").get("Contents", [])
    # pyarrow leaves an empty folder marker ("scratch/recsys/") when it deletes a prefix's last object
    left = [o["Key"] for o in listing if not (o["Key"].endswith("/") and o["Size"] == 0)]
    assert not left, f"scratch objects left under s3://{BUCKET}/{SCRATCH}/ after the run: {left}"

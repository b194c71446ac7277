"""Tracking against a real ``mlflow server --serve-artifacts``: a training run's artifacts land in the server's
``--artifacts-destination``, never on the client's disk (the cluster layout, where the client is a Spark driver
whose local /tmp is gone when the pod is)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME
from socialflywheel.tracking import Tracking
from tests.jobs import train
from tests.mlflow_server import Server, assert_artifacts_on_server, mlflow_server_at
from tests.recsys.examples_fixture import recsys_lake
from tests.recsys.test_train_job import WEAK, small_config

pytestmark = pytest.mark.slow


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[Server]:
    with mlflow_server_at(tmp_path / "server") as server:
        yield server


def test_train_artifacts_go_to_the_server_store_not_the_client(
    mlflow_server: Server,
    tmp_path: Path,
    tiny_lake: tuple[FlywheelConfig, Lake],
    spark: object,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow

    _, lake = recsys_lake(tmp_path_factory.getbasetemp() / "recsys_tiny", tiny_lake[0], spark)
    client_dir = tmp_path / "client"
    work, cwd = client_dir / "work", client_dir / "cwd"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)  # a relative ./mlruns would land here
    for var in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        monkeypatch.delenv(var, raising=False)
    cfg = small_config(work, lake, *WEAK, f"mlflow.tracking_uri={mlflow_server.url}")
    assert cfg.tracking_uri == mlflow_server.url and cfg.artifact_root is None

    previous = mlflow.get_tracking_uri()
    try:
        result = train(None, cfg, run_name="server")
    finally:
        mlflow.set_tracking_uri(previous)

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    # (1) the run is on the server, with the Delta versions it read
    run = client.get_run(result.mlflow_run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "server"
    versions = {k: v for k, v in run.data.params.items() if k.startswith("delta_version.")}
    assert versions == {f"delta_version.{k}": str(v) for k, v in result.versions_read.items()}
    assert f"delta_version.{TRAINING_EXAMPLES_NAME}" in versions and "delta_version.silver.posts" in versions
    version = client.get_model_version(cfg.mlflow.registered_model, result.model_version)
    assert version.run_id == run.info.run_id

    # (4) the experiment was created with the server's proxied artifact store
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == cfg.mlflow.experiment
    assert experiment.artifact_location.startswith("mlflow-artifacts:"), experiment.artifact_location
    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri

    # (2) every artifact of the run and of its logged model is a file in the server's --artifacts-destination
    models = client.search_logged_models(experiment_ids=[experiment.experiment_id])
    assert [m.source_run_id for m in models] == [run.info.run_id]
    stored = assert_artifacts_on_server(client, mlflow_server, run.info.run_id)
    on_disk = {p for p in mlflow_server.artifacts.rglob("*") if p.is_file()}
    assert set(stored) <= on_disk

    # (3) nothing on the client side: no <work_dir>/mlartifacts, no mlruns, no fallback SQLite store
    assert not (cfg.work_path / "mlartifacts").exists()
    assert not (cfg.work_path / "mlflow.db").exists()
    assert not [str(p) for p in client_dir.rglob("mlruns")]


def test_an_experiment_with_client_side_artifacts_is_refused(mlflow_server: Server, tmp_path: Path) -> None:
    """An experiment created earlier with a file: location would put every artifact on the driver's disk."""
    import mlflow

    from socialflywheel.tracking import setup
    from tests.conftest import make_config

    mlflow.set_tracking_uri(mlflow_server.url)
    mlflow.create_experiment("legacy", artifact_location=(tmp_path / "driver-disk").as_uri())
    cfg = make_config(tmp_path / "work", f"mlflow.tracking_uri={mlflow_server.url}", "mlflow.experiment=legacy")
    with pytest.raises(ValueError, match=r"keeps artifacts at file:.*set mlflow.experiment to a new name"):
        setup(Tracking.from_config(cfg))
    fresh = make_config(tmp_path / "work", f"mlflow.tracking_uri={mlflow_server.url}", "mlflow.experiment=fresh")
    setup(Tracking.from_config(fresh))
    assert str(mlflow.get_experiment_by_name("fresh").artifact_location).startswith("mlflow-artifacts:")

"""Tracking against a real ``mlflow server --serve-artifacts``: a training run's artifacts land in the server's
``--artifacts-destination``, never on the client's disk (the cluster layout, where the client is a Spark driver
whose local /tmp is gone when the pod is)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME
from tests.recsys.examples_fixture import recsys_lake
from tests.recsys.test_train_job import WEAK, small_config

pytestmark = pytest.mark.slow

STARTUP_S = 90.0


@dataclass(frozen=True)
class Server:
    url: str
    artifacts: Path
    log: Path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (it forks uvicorn/gunicorn workers), SIGKILL what is left."""
    for sig, wait_s in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait_s)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path / "server"
    root.mkdir()
    artifacts, log = root / "server-artifacts", root / "server.log"
    port = _free_port()
    cmd = [
        str(Path(sys.executable).with_name("mlflow")),
        "server",
        "--backend-store-uri",
        f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts",
        "--artifacts-destination",
        str(artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"mlflow server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server not answering after {STARTUP_S:.0f} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
        yield Server(url=url, artifacts=artifacts, log=log)
    finally:
        _stop(proc)


def _files(list_dir: Any, path: str | None = None) -> dict[str, int | None]:
    """Every file below ``path`` as {relative path: size}, walking an MLflow artifact listing recursively."""
    found: dict[str, int | None] = {}
    for info in list_dir(path):
        if info.is_dir:
            found.update(_files(list_dir, info.path))
        else:
            found[info.path] = info.file_size
    return found


def _served_path(destination: Path, uri: str) -> Path:
    """Where the server keeps ``mlflow-artifacts:/<path>``: ``<--artifacts-destination>/<path>``."""
    assert uri.startswith("mlflow-artifacts:"), uri
    return destination / urlparse(uri).path.lstrip("/")


def test_train_artifacts_go_to_the_server_store_not_the_client(
    mlflow_server: Server,
    tmp_path: Path,
    tiny_lake: tuple[FlywheelConfig, Lake],
    spark: object,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mlflow

    from socialflywheel.recsys.train_job import run_train

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
        result = run_train(None, cfg, Lake.from_config(cfg), run_name="server")
    finally:
        mlflow.set_tracking_uri(previous)

    client = mlflow.MlflowClient(tracking_uri=mlflow_server.url, registry_uri=mlflow_server.url)
    # (1) the run is on the server, with the Delta versions it read
    run = client.get_run(result["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "server"
    versions = {k: v for k, v in run.data.params.items() if k.startswith("delta_version.")}
    assert versions == {f"delta_version.{k}": str(v) for k, v in result["delta_versions_read"].items()}
    assert f"delta_version.{TRAINING_EXAMPLES_NAME}" in versions and "delta_version.silver.posts" in versions
    version = client.get_model_version(cfg.mlflow.registered_model, result["model_version"])
    assert version.run_id == run.info.run_id

    # (4) the experiment was created with the server's proxied artifact store
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == cfg.mlflow.experiment
    assert experiment.artifact_location.startswith("mlflow-artifacts:"), experiment.artifact_location
    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri

    # (2) every artifact of the run and of its logged model is a file in the server's --artifacts-destination
    run_files = _files(lambda p: client.list_artifacts(run.info.run_id, p))
    assert {"evaluation/evaluation.csv", "evaluation/evaluation.json", "evaluation/recall_at_k.png"} <= set(run_files)
    run_dir = _served_path(mlflow_server.artifacts, run.info.artifact_uri)
    stored: dict[Path, int | None] = {run_dir / rel: size for rel, size in run_files.items()}
    models = client.search_logged_models(experiment_ids=[experiment.experiment_id])
    assert [m.source_run_id for m in models] == [run.info.run_id]
    model_files = _files(lambda p: client.list_logged_model_artifacts(models[0].model_id, p))
    assert {"MLmodel", "python_model.pkl", "artifacts/model.pt"} <= set(model_files), sorted(model_files)
    model_dir = _served_path(mlflow_server.artifacts, models[0].artifact_location)
    stored.update({model_dir / rel: size for rel, size in model_files.items()})
    missing = [str(p) for p in stored if not p.is_file()]
    assert not missing, f"artifacts listed by the server but not under --artifacts-destination: {missing}"
    assert all(size is None or p.stat().st_size == size for p, size in stored.items())
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
        setup(cfg)
    fresh = make_config(tmp_path / "work", f"mlflow.tracking_uri={mlflow_server.url}", "mlflow.experiment=fresh")
    setup(fresh)
    assert str(mlflow.get_experiment_by_name("fresh").artifact_location).startswith("mlflow-artifacts:")

"""A real ``mlflow server --serve-artifacts`` on 127.0.0.1 for the tests, and helpers that find a run's artifacts in
the server's ``--artifacts-destination`` (shared by the tracking test and the cluster training test)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from socialflywheel.cluster.standalone import free_port

STARTUP_S = 90.0


@dataclass(frozen=True)
class Server:
    url: str
    artifacts: Path
    log: Path


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


@contextmanager
def mlflow_server_at(root: Path) -> Iterator[Server]:
    """Start the server with a SQLite backend and artifacts under ``root``; stop its process group at the end."""
    root.mkdir(parents=True, exist_ok=True)
    artifacts, log = root / "server-artifacts", root / "server.log"
    port = free_port()
    cmd = [
        str(Path(sys.executable).with_name("mlflow")), "server",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--serve-artifacts", "--artifacts-destination", str(artifacts),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
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


def artifact_files(list_dir: Callable[[str | None], Iterable[Any]], path: str | None = None) -> dict[str, int | None]:
    """Every file below ``path`` as {relative path: size}, walking an MLflow artifact listing recursively."""
    found: dict[str, int | None] = {}
    for info in list_dir(path):
        if info.is_dir:
            found.update(artifact_files(list_dir, info.path))
        else:
            found[info.path] = info.file_size
    return found


def served_path(destination: Path, uri: str) -> Path:
    """Where the server keeps ``mlflow-artifacts:/<path>``: ``<--artifacts-destination>/<path>``."""
    assert uri.startswith("mlflow-artifacts:"), uri
    return destination / urlparse(uri).path.lstrip("/")


def assert_artifacts_on_server(client: Any, server: Server, run_id: str) -> dict[Path, int | None]:
    """Every artifact of the run and of its logged model is a file of that size in the server's store.

    Returns:
        The stored files (path in the server's store: size).
    """
    run = client.get_run(run_id)
    assert run.info.artifact_uri.startswith("mlflow-artifacts:"), run.info.artifact_uri
    run_files = artifact_files(lambda p: client.list_artifacts(run_id, p))
    assert {"evaluation/evaluation.csv", "evaluation/evaluation.json", "evaluation/recall_at_k.png"} <= set(run_files)
    run_dir = served_path(server.artifacts, run.info.artifact_uri)
    stored: dict[Path, int | None] = {run_dir / rel: size for rel, size in run_files.items()}
    models = [
        m for m in client.search_logged_models(experiment_ids=[run.info.experiment_id]) if m.source_run_id == run_id
    ]
    assert len(models) == 1, [m.source_run_id for m in models]
    model_files = artifact_files(lambda p: client.list_logged_model_artifacts(models[0].model_id, p))
    assert {"MLmodel", "python_model.pkl", "artifacts/model.pt"} <= set(model_files), sorted(model_files)
    model_dir = served_path(server.artifacts, models[0].artifact_location)
    stored.update({model_dir / rel: size for rel, size in model_files.items()})
    missing = [str(p) for p in stored if not p.is_file()]
    assert not missing, f"artifacts listed by the server but not under --artifacts-destination: {missing}"
    assert all(size is None or p.stat().st_size == size for p, size in stored.items())
    return stored

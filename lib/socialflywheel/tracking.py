"""MLflow helper: a SQLite store in the work directory by default; every run logs config, commit and Delta versions."""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit, urlunsplit

from socialflywheel.config import REPO_ROOT, FlywheelConfig, config_hash, public_dict, redact_text
from socialflywheel.lake.io import Lake
from socialflywheel.run_context import adopt_run_id

if TYPE_CHECKING:
    import mlflow

log = logging.getLogger(__name__)


def git_commit() -> str:
    """The commit of the checked-out code, or 'unknown' outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5, check=True
        )
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)[:500]
    return flat


@dataclass(frozen=True)
class Tracking:
    """Where runs and models go: the ``mlflow`` section resolved once (defaults under the work folder filled in).

    The jobs that track (train, recommend, report, erase) take this, not the whole configuration; ``params`` and
    ``config_hash`` are what every run logs about the configuration that produced it (credentials masked).
    """

    uri: str
    artifact_root: str | None
    experiment: str
    registered_model: str
    serving_alias: str
    config_hash: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, cfg: FlywheelConfig) -> Tracking:
        """Resolve the tracking settings of ``cfg`` (``mlflow`` and the work folder)."""
        return cls(
            uri=cfg.tracking_uri,
            artifact_root=cfg.artifact_root,
            experiment=cfg.mlflow.experiment,
            registered_model=cfg.mlflow.registered_model,
            serving_alias=cfg.mlflow.serving_alias,
            config_hash=config_hash(cfg),
            params=_flatten(public_dict(cfg), "cfg."),
        )


def client_tracking_uri(uri: str) -> str:
    """The tracking URI to hand MLflow: an http(s) URI's ``user:password@`` moves to the environment.

    MLflow reads ``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` for basic auth; a URI without the
    credentials is what its own messages (run links, failed request errors) then print. Child processes
    (torchrun workers) inherit the variables.

    Args:
        uri: the configured tracking URI (``mlflow.tracking_uri``, resolved).
    """
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or "@" not in parts.netloc:
        return uri
    if parts.username:
        os.environ["MLFLOW_TRACKING_USERNAME"] = unquote(parts.username)
    if parts.password:
        os.environ["MLFLOW_TRACKING_PASSWORD"] = unquote(parts.password)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def setup(tracking: Tracking) -> ModuleType:
    """Point MLflow at the configured store and make sure the experiment exists."""
    import mlflow

    if tracking.uri.startswith("sqlite:///"):
        Path(tracking.uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(client_tracking_uri(tracking.uri))
    exp = mlflow.get_experiment_by_name(tracking.experiment)
    if exp is None:
        artifact = tracking.artifact_root
        if artifact is not None and "://" not in artifact:
            Path(artifact).mkdir(parents=True, exist_ok=True)
            artifact = Path(artifact).as_uri()
        mlflow.create_experiment(tracking.experiment, artifact_location=artifact)
    elif tracking.artifact_root is None and str(exp.artifact_location).startswith("file:"):
        # Created earlier with a client-side location: every artifact would land on this driver's disk.
        raise ValueError(
            f"MLflow experiment {tracking.experiment!r} on {redact_text(tracking.uri)} keeps artifacts at "
            f"{redact_text(str(exp.artifact_location))} (the client's disk): set mlflow.experiment to a new name "
            "(the server then stores them) or mlflow.artifact_root to a shared location"
        )
    mlflow.set_experiment(tracking.experiment)
    return mlflow


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    """MLflow's chatter inside goes to the log at DEBUG, not to the console.

    Registering a pyfunc prints "Successfully registered model ..." and "Created version ..." straight to stderr,
    and warns that a Python object is pickled (which the registry does on purpose): the job's own log line says what
    was registered. Errors still show: only records below ERROR of the ``mlflow`` loggers are held back here.
    """
    import contextlib
    import io

    chatty = logging.getLogger("mlflow")
    saved = chatty.level
    chatty.setLevel(logging.ERROR)
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stderr(buffer):
            yield
    finally:
        chatty.setLevel(saved)
        for line in buffer.getvalue().splitlines():
            if line.strip():
                log.debug("mlflow: %s", line)


@contextmanager
def brief_requests(*, retries: int = 2, timeout_s: int = 10) -> Iterator[None]:
    """MLflow HTTP calls inside give up after ``retries`` retries of ``timeout_s`` seconds.

    MLflow's default is 7 retries with backoff: minutes against a server that is down. For calls whose caller can
    say so and go on.
    """
    names = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(retries), "MLFLOW_HTTP_REQUEST_TIMEOUT": str(timeout_s)}
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(names)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def log_delta_versions(client_mlflow: ModuleType, lake: Lake) -> None:
    """Log the Delta version of every table read, so the run can be reproduced by time travel."""
    for name, version in sorted(lake.versions_read.items()):
        client_mlflow.log_param(f"delta_version.{name}", version)
    client_mlflow.set_tag("lake_root", redact_text(lake.root))


RUN_DATE_TAG = "run_date"


def last_run_date(tracking: Tracking, *, job: str, until: dt.date) -> dt.date | None:
    """The latest logical date on or before ``until`` of a finished, dated ``job`` run in the experiment.

    Raises:
        MlflowException (or a connection error): the tracking server cannot be asked (retried briefly).
    """
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(client_tracking_uri(tracking.uri))
    client = MlflowClient()
    with brief_requests():
        experiment = client.get_experiment_by_name(tracking.experiment)
        if experiment is None:
            return None
        runs = client.search_runs(
            [experiment.experiment_id],
            filter_string=f"tags.job = '{job}' and attributes.status = 'FINISHED' and tags.{RUN_DATE_TAG} != ''",
            max_results=5000,
        )
    days = [dt.date.fromisoformat(r.data.tags[RUN_DATE_TAG]) for r in runs if RUN_DATE_TAG in r.data.tags]
    return max((d for d in days if d <= until), default=None)


@contextmanager
def tracked_run(tracking: Tracking, lake: Lake, *, run_name: str, job: str) -> Iterator[mlflow.ActiveRun]:
    """Start an MLflow run logging the resolved config (credentials masked), the commit and the Delta versions read."""
    mlflow = setup(tracking)
    with mlflow.start_run(run_name=run_name) as run:
        job_run = adopt_run_id(run.info.run_id)  # the job run's id is this MLflow run's
        mlflow.set_tags(
            {"job": job, "job_run_id": job_run, "git_commit": git_commit(), "config_hash": tracking.config_hash}
        )
        if lake.until is not None:  # a dated run: the logical date it ran for (training cadence reads it)
            mlflow.set_tag(RUN_DATE_TAG, lake.until.isoformat())
        mlflow.log_params(tracking.params)
        try:
            yield run
        finally:
            log_delta_versions(mlflow, lake)

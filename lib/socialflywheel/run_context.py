"""The job run in progress and its one id (imports nothing of the package: the tracking and the runner share it)."""

from __future__ import annotations

import contextvars
import datetime as dt
from dataclasses import dataclass


@dataclass
class RunContext:
    """What a job reports about itself while it runs."""

    run_id: str
    job: str
    started_at: dt.datetime
    rows_in: int = 0
    rows_out: int = 0
    adopted: bool = False
    """Whether ``run_id`` is the MLflow run's (see :func:`adopt_run_id`)."""


def adopt_run_id(mlflow_run_id: str) -> str:
    """Make the MLflow run the job just started the job run's one id, and return that id.

    A job that tracks to MLflow (train, recommend) had two ids for one run: the run record's and MLflow's. The
    record, the summary and the log line take MLflow's (32 hex digits, like the record's own), so one id finds the
    run everywhere. Outside a job run (a library call), or for a second MLflow run of the same job, nothing changes
    and the current job run's id is returned (for a tag).
    """
    ctx = current.get()
    if ctx is None:
        return mlflow_run_id
    if not ctx.adopted:
        ctx.run_id, ctx.adopted = mlflow_run_id, True
    return ctx.run_id


current: contextvars.ContextVar[RunContext | None] = contextvars.ContextVar("flywheel_run", default=None)
"""The run :func:`socialflywheel.runs.job_run` has open in this context (None outside a job run)."""

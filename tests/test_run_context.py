"""One id per job run: the first MLflow run a job starts lends the run its id; nothing else changes it."""

from __future__ import annotations

import datetime as dt
import uuid

from socialflywheel.run_context import RunContext, adopt_run_id, current


def test_the_first_mlflow_run_of_a_job_run_gives_it_its_id_and_no_later_one_does() -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    assert adopt_run_id(first) == first  # a library call outside any job run: nothing to rename
    ctx = RunContext(run_id=uuid.uuid4().hex, job="train", started_at=dt.datetime(2026, 1, 1))
    token = current.set(ctx)
    try:
        assert adopt_run_id(first) == first and ctx.run_id == first and ctx.adopted
        assert adopt_run_id(second) == first and ctx.run_id == first  # a second MLflow run is tagged with the first
    finally:
        current.reset(token)
    assert current.get() is None and adopt_run_id(second) == second

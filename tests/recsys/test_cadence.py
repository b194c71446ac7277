"""Training cadence of dated runs (``train.every_days``), read from the real MLflow store's finished runs."""

from __future__ import annotations

import datetime as dt

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.cadence import TrainSkipped, training_due
from socialflywheel.tracking import RUN_DATE_TAG, Tracking, client_tracking_uri


def _log_run(tracking: Tracking, day: str, *, status: str = "FINISHED", job: str = "train") -> None:
    import mlflow

    mlflow.set_tracking_uri(client_tracking_uri(tracking.uri))
    mlflow.set_experiment(tracking.experiment)
    with mlflow.start_run() as run:
        mlflow.set_tags({"job": job, RUN_DATE_TAG: day})
    if status != "FINISHED":
        mlflow.MlflowClient().set_terminated(run.info.run_id, status=status)


@pytest.fixture
def tracked(work: FlywheelConfig) -> tuple[FlywheelConfig, Tracking]:
    tracking = Tracking.from_config(work)
    _log_run(tracking, "2026-10-05")
    _log_run(tracking, "2026-10-09", status="FAILED")  # a failed training does not count
    _log_run(tracking, "2026-10-10", job="recommend")  # nor does another job's run
    return work, tracking


def _due(cfg: FlywheelConfig, tracking: Tracking, day: dt.date | None, every: int) -> TrainSkipped | None:
    tc = cfg.train.model_copy(update={"every_days": every})
    return training_due(Lake.from_config(cfg).bounded(day), tc, tracking)


def test_a_dated_run_inside_the_cadence_window_is_skipped_with_the_reason(tracked: tuple) -> None:
    cfg, tracking = tracked
    skipped = _due(cfg, tracking, dt.date(2026, 10, 8), 7)
    assert isinstance(skipped, TrainSkipped)
    assert skipped.last_trained_for == "2026-10-05"
    assert "next training due on 2026-10-12" in skipped.skipped
    # The same day again (a retry or a re-run of the date) does not train twice.
    again = _due(cfg, tracking, dt.date(2026, 10, 5), 1)
    assert isinstance(again, TrainSkipped) and again.last_trained_for == "2026-10-05"


@pytest.mark.parametrize(
    ("day", "every"),
    [
        (dt.date(2026, 10, 12), 7),  # a week after the last training
        (dt.date(2026, 10, 6), 1),  # daily cadence, the next day
        (dt.date(2026, 10, 4), 7),  # a backfill before any training
        (None, 7),  # an undated run always trains
    ],
)
def test_a_run_trains_when_it_is_due(tracked: tuple, day: dt.date | None, every: int) -> None:
    cfg, tracking = tracked
    assert _due(cfg, tracking, day, every) is None

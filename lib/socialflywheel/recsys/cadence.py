"""Training cadence of dated runs (``train.every_days``): a daily pipeline need not retrain every day.

A dated train run asks the tracking server for the latest finished training run (tag ``run_date``) on or before
its date; within ``every_days`` of it, the run is skipped with the reason. A re-run of a date that trained is
skipped too, so retries never train twice. Undated runs always train.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from socialflywheel.config.recsys import TrainConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.tracking import Tracking

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class TrainSkipped(JobResult):
    """A dated train run that the cadence (``train.every_days``) left out: nothing was trained or registered."""

    skipped: str
    """Why, in one sentence."""
    last_trained_for: str | None = None
    """The logical date of the training run that makes this one unnecessary (ISO)."""


def training_due(lake: Lake, tc: TrainConfig, tracking: Tracking) -> TrainSkipped | None:
    """None when this run trains; a :class:`TrainSkipped` when a dated run falls inside the cadence's window.

    Undated runs always train. A tracking server that cannot be asked does not block training (a warning).
    """
    from socialflywheel.tracking import last_run_date

    if lake.until is None:
        return None
    try:
        last = last_run_date(tracking, job="train", until=lake.until)
    except Exception as exc:  # an unreachable server: train (a model too many beats none)
        log.warning("train: the tracking server cannot say when training last ran (%s); training", type(exc).__name__)
        return None
    if last is None or (lake.until - last).days >= tc.every_days:
        return None
    reason = (
        f"trained for {last} already; train.every_days={tc.every_days} makes the next training due on "
        f"{last + dt.timedelta(days=tc.every_days)}"
    )
    log.info("train for %s skipped: %s", lake.until, reason)
    return TrainSkipped(skipped=reason, last_trained_for=last.isoformat())

"""The train and recommend jobs called as the registry binds them (``jobs_registry``), for tests that pass extras.

``run_train``/``run_recommend`` take their sections and a resolved ``Tracking``; tests that need a run name, a
model version or ``register=False`` call these instead of spelling the sections out at every call site.
"""

from __future__ import annotations

from typing import Any

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.recommend_job import RecommendResult, run_recommend
from socialflywheel.recsys.train_job import TrainResult, run_train
from socialflywheel.tracking import Tracking


def train(spark: Any, cfg: FlywheelConfig, **extra: Any) -> TrainResult:
    """``run_train`` over ``cfg``'s lake, train section, tracking and work folder (undated: it always trains)."""
    result = run_train(
        spark, Lake.from_config(cfg), cfg.train, tracking=Tracking.from_config(cfg), work=cfg.work_path, **extra
    )
    assert isinstance(result, TrainResult), result
    return result


def recommend(spark: Any, cfg: FlywheelConfig, lake: Lake | None = None, **extra: Any) -> RecommendResult:
    """``run_recommend`` over ``cfg``'s recommend section, tracking, work folder and seed (``lake``: default cfg's)."""
    return run_recommend(
        spark,
        lake or Lake.from_config(cfg),
        cfg.recommend,
        tracking=Tracking.from_config(cfg),
        work=cfg.work_path,
        seed=cfg.seed,
        **extra,
    )

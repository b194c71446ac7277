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


# A training small enough for the tiny lake: CPU, one thread, small towers and tiny iALS grids.
TRAIN_TINY = (
    "train.device=cpu",
    "train.num_threads=1",
    "train.batch_size=256",
    "train.embedding_dim=16",
    "train.hidden_dim=32",
    "train.shuffle_buffer=2048",
    "train.shard_rows=256",
    "train.checkpoint_every_steps=0",
    "train.history_len=10",
    "train.patience=0",
    "train.ials_factors=[16]",
    "train.ials_regularization=[0.1]",
    "train.ials_alpha=[10.0]",
)
# ... trained for two epochs, with lists of 20 (the report and the notebooks compare its run).
TRAIN_SMALL = (*TRAIN_TINY, "train.epochs=2", "train.lr=0.01", "recommend.k=20")

"""Training on partial lakes: no view events (a Twitter or Reddit dump), and too few days for the splits."""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pytest
import torch

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.examples_basis import examples_basis
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME
from tests.conftest import make_config
from tests.jobs import TRAIN_TINY, train

torch.set_num_threads(1)

TRAIN = (*TRAIN_TINY, "train.epochs=2", "train.lr=0.01", "train.promotion_margin=-1")
FIRST_DAYS = ("date=2026-10-01", "date=2026-10-02", "date=2026-10-03")


def _is_view(line: bytes) -> bool:
    try:
        return bool(json.loads(line).get("event_type") == "view")
    except (ValueError, AttributeError):  # a corrupted line stays: ingest quarantines it
        return False


def _drop_views(landing: Path) -> int:
    """Rewrite the simulated landing files without their view events; returns how many were dropped."""
    dropped = 0
    for path in sorted((landing / "events").rglob("*.jsonl")):
        lines = path.read_bytes().splitlines()
        kept = [line for line in lines if not _is_view(line)]
        dropped += len(lines) - len(kept)
        path.write_bytes(b"".join(line + b"\n" for line in kept))
    return dropped


def _lake(spark: Any, cfg: FlywheelConfig) -> Lake:
    """Ingest and conform ``cfg``'s landing, then run the features job."""
    from socialflywheel.features.job import run_features
    from socialflywheel.ingest import run_conform, run_ingest

    lake = Lake.from_config(cfg)
    run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    run_conform(spark, lake, cfg.privacy)
    run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    return lake


@pytest.fixture(scope="module")
def no_views(tmp_path_factory: pytest.TempPathFactory, spark: Any) -> tuple[FlywheelConfig, Lake]:
    """The tiny simulation (14 days) landed without view events, ingested, with the features job's gold tables."""
    from socialflywheel.simulate import run_simulate

    cfg = make_config(tmp_path_factory.mktemp("no_views"), "simulate.profile=tiny", *TRAIN)
    run_simulate(spark, Lake.from_config(cfg), cfg.simulate, landing=cfg.landing_dir)
    assert _drop_views(cfg.landing_dir) > 1000
    return cfg, _lake(spark, cfg)


def test_a_lake_without_views_gives_engagement_examples_with_point_in_time_features(
    no_views: tuple[FlywheelConfig, Lake],
) -> None:
    _, lake = no_views
    events = lake.read_arrow("silver.events", columns=["event_id", "event_type"])
    assert "view" not in set(events.column("event_type").to_pylist())
    got = lake.read_arrow(TRAINING_EXAMPLES_NAME).to_pylist()
    assert len(got) > 1000 and {r["split"] for r in got} == {"train", "val", "test"}
    kinds = dict(zip(events.column("event_id").to_pylist(), events.column("event_type").to_pylist(), strict=True))
    assert {kinds[r["event_id"]] for r in got} == set(ENGAGEMENT_TYPES)  # one row per like/share/comment/click
    assert {r["label"] for r in got} == {1}
    with_user = [r for r in got if r["user_features_ts"] is not None]
    with_item = [r for r in got if r["item_features_ts"] is not None]
    assert len(with_user) > len(got) / 2 and len(with_item) > len(got) / 2
    assert all(r["user_features_ts"] < r["ts"] for r in with_user)
    assert all(r["item_features_ts"] < r["ts"] for r in with_item)
    assert all(r["features_as_of_date"] < r["ts"].date() for r in got)


def test_the_leak_check_sees_same_day_features(spark: Any, no_views: tuple[FlywheelConfig, Lake]) -> None:
    """The check above is not vacuous: features as of the example's own day include the engagement itself."""
    from socialflywheel.features.item_features import item_features
    from socialflywheel.features.job import category_vocabulary
    from socialflywheel.features.training_examples import training_examples
    from socialflywheel.features.user_features import user_features

    _, lake = no_views
    events, posts = lake.read(spark, "silver.events"), lake.read(spark, "silver.posts")
    cats = category_vocabulary(lake)
    leaky = (
        training_examples(
            events,
            posts,
            user_features(events, posts, windows_days=[1, 7, 28], categories=cats),
            item_features(events, posts, velocity_hours=[1, 6, 24]),
            windows_days=[1, 7, 28],
            categories=cats,
            velocity_hours=[1, 6, 24],
            as_of_offset_days=0,
            examples_from="engagements",
        )
        .toArrow()
        .to_pylist()
    )
    assert sum(r["item_features_ts"] is not None and r["item_features_ts"] >= r["ts"] for r in leaky) > len(leaky) / 4


def test_two_tower_trains_on_a_lake_without_views_and_says_what_it_learned_from(
    no_views: tuple[FlywheelConfig, Lake], caplog: pytest.LogCaptureFixture
) -> None:
    import mlflow

    cfg, lake = no_views
    with caplog.at_level(logging.INFO, logger="socialflywheel.recsys.train_job"):
        result = train(None, cfg, run_name="no-views")
    positives = int(pc.sum(pc.equal(lake.read_arrow(TRAINING_EXAMPLES_NAME).column("split"), "train")).as_py())
    assert result.rows_in == positives > 500 and result.epochs_run == 2 and result.model_version == "1"
    assert result.positives.startswith(f"{positives} engagement events (like, share, comment or click)")
    assert "no view events" in result.positives and "in-batch" in result.negatives
    assert (Path(result.data_root).parent / "refit" / "model.pt").exists()
    lines = [r.message for r in caplog.records if r.message.startswith("train: positives: ")]
    assert lines == [f"train: positives: {result.positives}; negatives: {result.negatives}"]
    mlflow.set_tracking_uri(cfg.tracking_uri)
    params = mlflow.get_run(result.mlflow_run_id).data.params
    assert (params["data.positives"], params["data.negatives"]) == (result.positives, result.negatives)


def test_too_few_days_fail_before_training_naming_the_keys_and_the_days(
    tmp_path_factory: pytest.TempPathFactory, spark: Any, no_views: tuple[FlywheelConfig, Lake]
) -> None:
    """Three days landed, with the default 7 test and 3 validation days: one line, before shards or a run."""
    source, _ = no_views
    cfg = make_config(tmp_path_factory.mktemp("three_days"), "simulate.profile=tiny", *TRAIN)
    for day in FIRST_DAYS:
        shutil.copytree(source.landing_dir / "events" / day, cfg.landing_dir / "events" / day)
    lake = _lake(spark, cfg)
    dates = pc.unique(lake.read_arrow(TRAINING_EXAMPLES_NAME, columns=["event_date"]).column("event_date"))
    assert sorted(dates.to_pylist()) == [dt.date(2026, 10, d) for d in (1, 2, 3)]
    assert (cfg.features.test_days, cfg.features.validation_days) == (7, 3)
    with pytest.raises(ValueError, match=r"features\.test_days") as raised:
        train(None, cfg)
    message = str(raised.value)
    assert "\n" not in message
    assert "spans 3 days of events (2026-10-01 .. 2026-10-03): 0 train, 0 validation and 3 test days" in message
    assert "features.test_days + features.validation_days + 1 days" in message
    assert "--set features.test_days=1 --set features.validation_days=1" in message
    assert not (cfg.work_path / "recsys").exists()  # no shards prepared, no training


def test_a_lake_with_views_is_explained_as_engaged_impressions() -> None:
    meta = DatasetMeta(1, 1, 1, 1, 1, 0, 0, extra={"rows": {"train_positives": 40, "negatives": 900}})
    basis = examples_basis(meta, random_negatives=16)
    assert (
        basis.positives
        == "40 engaged impressions (a view followed by a like, share, comment or click, or a long dwell)"
    )
    assert basis.negatives.startswith("the other posts of each training batch (in-batch) and 16 posts sampled")
    assert "the 900 unengaged impressions are not trained on" in basis.negatives

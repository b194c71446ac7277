"""The embedded default against an object store: Sail reads landing files from and writes the lake to S3,
and delta-rs maintenance runs there with the same (environment) credentials."""

from __future__ import annotations

from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from tests.cluster.compare import assert_same_rows
from tests.cluster.conftest import BUCKET, LANDING_PREFIX
from tests.conftest import make_config

pytestmark = [pytest.mark.cluster]

SAIL_LAKE = f"s3://{BUCKET}/sail-lake"  # the s3:// spelling; the cluster suite uses s3a://


@pytest.fixture(scope="module")
def sail_s3_lake(s3_landing: str, spark: Any, tmp_path_factory: Any) -> tuple[FlywheelConfig, Lake]:
    from socialflywheel.features.job import run_features
    from socialflywheel.ingest import run_conform, run_ingest

    work = tmp_path_factory.mktemp("sail-s3")
    cfg = make_config(work, f"lake.root={SAIL_LAKE}", f"ingest.landing_dir=s3://{BUCKET}/{LANDING_PREFIX}")
    lake = Lake.from_config(cfg)
    first = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    assert first.reconciled and first.rows_in > 0
    run_conform(spark, lake, cfg.privacy)
    run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    return cfg, lake


def test_sail_on_s3_equals_sail_on_disk(sail_s3_lake: Any, tiny_lake: Any, spark: Any, tmp_path: Any) -> None:
    from socialflywheel.features.job import run_features
    from tests.conftest import copy_lake

    local_cfg, local = copy_lake(tiny_lake[0], tmp_path / "local")
    run_features(spark, local, local_cfg.features, k=local_cfg.privacy.min_group_users, seed=local_cfg.seed)
    _, s3 = sail_s3_lake
    names = ["silver.events", "silver.posts", "silver.follows", "gold.user_features", "gold.hashtag_trends"]
    for name in names:
        assert_same_rows(name, s3.read_arrow(name), local.read_arrow(name))
    quarantine = s3.read_arrow("bronze.quarantine", columns=["raw", "reason"]).to_pylist()
    assert len(quarantine) == len(local.read_arrow("bronze.quarantine", columns=["reason"]))


def test_second_ingest_from_s3_adds_nothing(sail_s3_lake: Any, spark: Any) -> None:
    from socialflywheel.ingest import run_ingest

    cfg, lake = sail_s3_lake
    version = lake.version("bronze.events")
    again = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    assert again.files == 0 and again.rows_new == 0
    assert lake.version("bronze.events") == version


def test_delta_rs_maintenance_on_s3(sail_s3_lake: Any, spark: Any) -> None:
    """Compaction, vacuum and log clean-up on the object store; every table still reads the same rows."""
    from socialflywheel.lake.maintain import run_maintain
    from socialflywheel.lake.maintenance import history

    cfg, lake = sail_s3_lake
    before = {n: lake.read_arrow(n) for n in ("silver.events", "gold.user_features")}
    cfg.maintain.vacuum_retention_hours = 0
    summary = run_maintain(spark, lake, cfg.maintain, retention=cfg.privacy.retention_days)
    assert summary.tables >= 5 and summary.files_vacuumed > 0
    fresh = Lake.from_config(cfg)
    for name, rows in before.items():
        assert_same_rows(name, fresh.read_arrow(name), rows)
        assert spark.read.format("delta").load(fresh.path(name)).count() == rows.num_rows  # Sail reads it too
    assert history(fresh, "silver.events", limit=1)


def test_sail_staging_leaves_nothing_in_the_bucket(sail_s3_lake: Any, object_store: Any) -> None:
    keys = object_store.client().list_objects_v2(Bucket=BUCKET, Prefix="sail-lake/_staging/").get("KeyCount", 0)
    assert keys == 0

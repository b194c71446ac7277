"""Lake I/O on real Delta tables through Sail, and run records for succeeded and failed jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.catalog import CATALOG, table
from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintenance import compact, describe, history, restore, vacuum
from socialflywheel.runs import job_run

FOLLOW = "follower_id string, followee_id string, since timestamp"


def follows(spark: Any, rows: list[tuple[str, str]]) -> Any:
    t = dt.datetime(2026, 10, 1)
    return spark.createDataFrame([(a, b, t) for a, b in rows], FOLLOW)


def test_every_table_has_schema_and_layer() -> None:
    for name, t in CATALOG.items():
        assert t.layer in ("bronze", "silver", "gold", "audit", "truth"), name
        assert t.column_names and all(p in t.column_names for p in t.partition_by)
        assert all(k in t.column_names for k in t.keys)


def test_append_merge_overwrite_and_versions(spark: Any, lake: Lake) -> None:
    lake.append(follows(spark, [("a", "b"), ("a", "c")]), "silver.follows")
    assert lake.version("silver.follows") == 0
    lake.merge(spark, follows(spark, [("a", "b"), ("b", "c")]), "silver.follows")
    got = sorted((r["follower_id"], r["followee_id"]) for r in lake.read_arrow("silver.follows").to_pylist())
    assert got == [("a", "b"), ("a", "c"), ("b", "c")]  # ("a","b") not duplicated
    lake.merge(spark, follows(spark, [("a", "c")]), "silver.follows", when_matched="delete", insert=False)
    assert lake.read(spark, "silver.follows").count() == 2
    assert lake.versions_written["silver.follows"] == 2
    fresh = Lake(lake.root)
    old = fresh.read(spark, "silver.follows", version=0)
    assert old.count() == 2 and fresh.versions_read == {"silver.follows": 0}
    lake.overwrite(follows(spark, [("z", "y")]), "silver.follows")
    assert [r["follower_id"] for r in lake.read_arrow("silver.follows").to_pylist()] == ["z"]


def test_schema_drift_is_named(spark: Any, lake: Lake) -> None:
    df = spark.createDataFrame([("a", "b")], "follower_id string, followee string")
    with pytest.raises(ValueError, match=r"silver.follows: DataFrame lacks catalog columns \['followee_id', 'since'\]"):
        lake.append(df, "silver.follows")
    assert not lake.exists("silver.follows")


def test_maintenance_roundtrip(spark: Any, lake: Lake) -> None:
    for i in range(3):
        lake.append(follows(spark, [(f"u{i}", "v")]), "silver.follows")
    assert describe(lake, "silver.follows")["rows"] == 3  # type: ignore[index]
    compact(lake, "silver.follows")
    assert describe(lake, "silver.follows")["files"] == 1  # type: ignore[index]
    assert next(h["operation"] for h in history(lake, "silver.follows")) == "OPTIMIZE"
    restore(lake, "silver.follows", version=0)
    assert lake.read(spark, "silver.follows").count() == 1
    removed = vacuum(lake, "silver.follows", retention_hours=0)
    assert removed  # files of versions 1..3 are no longer referenced
    assert lake.read(spark, "silver.follows").count() == 1


def test_run_records_success_and_failure(work: FlywheelConfig, lake: Lake, spark: Any) -> None:
    with job_run("demo-ok", work, lake) as ctx:
        lake.append(follows(spark, [("a", "b")]), "silver.follows")
        ctx.rows_in, ctx.rows_out = 5, 1
    with pytest.raises(RuntimeError), job_run("demo-fail", work, lake):
        raise RuntimeError("boom")
    runs = {r["job"]: r for r in lake.read_arrow("audit.job_runs").to_pylist()}
    assert runs["demo-ok"]["status"] == "succeeded" and runs["demo-ok"]["rows_in"] == 5
    assert dict(runs["demo-ok"]["versions_written"]) == {"silver.follows": 0}
    assert runs["demo-fail"]["status"] == "failed" and "boom" in runs["demo-fail"]["error"]
    assert runs["demo-ok"]["config_hash"] == runs["demo-fail"]["config_hash"]
    assert table("audit.job_runs").column_names == lake.read_arrow("audit.job_runs").column_names

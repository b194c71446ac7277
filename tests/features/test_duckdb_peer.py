"""The DuckDB peer of bench/bench_features.py computes the gold.user_features our Sail job does (issue #17)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import REPO
from tests.features.test_user_features import at, ev, hand_events, hand_posts

from socialflywheel.lake.catalog import EVENT_SCHEMA, spark_ddl, table

sys.path.insert(0, str(REPO / "bench"))
import bench_features


def peer_events() -> list[dict[str, Any]]:
    """The hand-written platform plus the cases a second implementation gets wrong first."""
    late = dt.datetime(2026, 11, 15, 9, tzinfo=dt.UTC)  # 36 days after day 10: every window empties, 28d too
    return [
        *hand_events(),
        ev("x-fol-y", "follow", "X", at(5, 9), target_user_id="Y"),
        ev("x-unf-y", "unfollow", "X", at(5, 9), target_user_id="Y"),  # same instant: the unfollow wins
        ev("x-fol-y2", "follow", "X", at(6, 9), target_user_id="Y"),
        ev("x-fol-y3", "follow", "X", at(6, 10), target_user_id="Y"),  # a repeated follow changes nothing
        ev("x-fol-x", "follow", "X", at(6, 11), target_user_id="X"),  # oneself: not a follow
        ev("y1", "view", "Y", at(7, 9), post_id="p1", dwell_ms=400),
        ev("y0", "view", "Y", at(7, 9), post_id="p4", dwell_ms=200),  # same instant: ordered by event_id
        ev("y2", "view", "Y", at(7, 9, 40), post_id="p2"),  # no dwell
        ev("y3", "comment", "Y", at(7, 10, 11), post_id="p4"),  # uncategorised post
        ev("y4", "view", "Y", at(8, 9), post_id="p2", dwell_ms=100),
        ev("y5", "view", "Y", at(8, 9, 1), post_id="p2", dwell_ms=100),
        ev("y6", "view", "Y", at(8, 9, 2), post_id="p1", dwell_ms=50),  # 5 views: p90 is the 5th, p80 the 4th
        ev("a10", "share", "A", late, post_id="p1"),
    ]


@pytest.fixture(scope="module")
def silver(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """events/posts Parquet laid out as the bench writes them, and our job's gold.user_features beside them."""
    from socialflywheel.features.user_features import user_features

    work = tmp_path_factory.mktemp("peer")
    events = spark.createDataFrame(peer_events(), spark_ddl(EVENT_SCHEMA))
    posts = [p | {"text": None, "campaign_id": None} for p in hand_posts()]
    posts.append({"post_id": "p4", "author_id": "C", "created_at": at(1, 9), "category": None, "hashtags": []})
    events.write.parquet(str(work / "events.parquet"))
    spark.createDataFrame(posts, table("silver.posts").ddl).write.parquet(str(work / "posts.parquet"))
    ev_df, posts_df = (spark.read.parquet(str(work / n)) for n in ("events.parquet", "posts.parquet"))
    ours = user_features(ev_df, posts_df, windows_days=[1, 7, 28], categories=["food", "tech"])
    ours.write.parquet(str(work / "ours"))
    return work


def test_duckdb_sql_gives_our_user_features_on_every_row(silver: Path) -> None:
    bench_features.run_duckdb(str(silver))
    check = bench_features.check_user_features(
        str(silver / "ours"), str(silver / "out-duckdb/user_features"), sample=99
    )
    assert check["rows_ours"] == check["sample_rows"] > 40  # every person sampled: all rows compared
    assert check["differences"] == []
    assert check["equal"]


def test_the_check_finds_one_changed_value(silver: Path) -> None:
    import duckdb

    tampered = silver / "tampered"
    tampered.mkdir()
    duckdb.sql(
        f"COPY (SELECT * REPLACE (CASE WHEN user_id = 'Y' AND as_of_date = DATE '2026-10-08' "
        f"THEN dwell_p90 * (1 + 1e-6) ELSE dwell_p90 END AS dwell_p90) FROM read_parquet('{silver}/ours/*.parquet')) "
        f"TO '{tampered}/part-0.parquet' (FORMAT parquet)"
    )
    check = bench_features.check_user_features(str(silver / "ours"), str(tampered), sample=99)
    assert not check["equal"]
    assert check["sample_rows_differing"] == 1
    assert list(check["differences"][0]) == ["key", "dwell_p90"]

"""gold.user_features on hand-written silver rows: windowed counts, sessions, dwell, follows, affinity, CTR."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_config

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.catalog import EVENT_SCHEMA, spark_ddl, table
from socialflywheel.lake.io import Lake

D = dt.date(2026, 10, 1)  # day 1 of the hand-written lake


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC time on day ``day`` (1-based) of the hand-written lake."""
    return dt.datetime(2026, 10, day, hour, minute, tzinfo=dt.UTC)


def ev(eid: str, kind: str, user: str, ts: dt.datetime, **kw: Any) -> dict[str, Any]:
    row = {c: None for c in table("silver.events").column_names}
    row |= {"event_id": eid, "event_type": kind, "user_id": user, "ts": ts, "event_date": ts.date()}
    row |= {"device": "ios", "country": "DE"} | kw
    return row


def hand_events() -> list[dict[str, Any]]:
    """User A is active on days 1, 3 and 10; B, C follow A on day 2 and B unfollows on day 5; shares of p3."""
    rows = [
        ev("b-post-p1", "post", "B", at(1, 8), post_id="p1"),
        ev("c-post-p2", "post", "C", at(1, 9), post_id="p2"),
        ev("a1", "view", "A", at(1, 10), post_id="p1", dwell_ms=1000),
        ev("a2", "like", "A", at(1, 10, 5), post_id="p1"),
        ev("b-fol-a", "follow", "B", at(2, 9), target_user_id="A"),
        ev("c-fol-a", "follow", "C", at(2, 10), target_user_id="A"),
        ev("a3", "view", "A", at(3, 9), post_id="p2", dwell_ms=3000),
        ev("a-fol-b", "follow", "A", at(3, 9, 10), target_user_id="B"),
        ev("a4", "view", "A", at(3, 11), post_id="p1", dwell_ms=5000),  # 2 h later: a new session
        ev("a5", "view", "A", at(3, 23, 50), post_id="p2", dwell_ms=25000),
        ev("a6", "like", "A", at(4, 0, 10), post_id="p2"),  # after midnight: counts for day 4
        ev("b-unf-a", "unfollow", "B", at(5, 12), target_user_id="A"),
        # share cascade of p3 (by C): E follows D, G follows then unfollows E, H follows F
        ev("c-post-p3", "post", "C", at(4, 8), post_id="p3"),
        ev("e-fol-d", "follow", "E", at(2, 8), target_user_id="D"),
        ev("h-fol-f", "follow", "H", at(3, 8), target_user_id="F"),
        ev("g-fol-e", "follow", "G", at(4, 7), target_user_id="E"),
        ev("d-sh", "share", "D", at(4, 9), post_id="p3"),
        ev("e-sh", "share", "E", at(4, 10), post_id="p3"),  # through D: a reshare
        ev("g-unf-e", "unfollow", "G", at(4, 10, 30), target_user_id="E"),
        ev("f-sh", "share", "F", at(4, 11), post_id="p3"),  # follows no earlier sharer
        ev("g-sh", "share", "G", at(4, 11, 30), post_id="p3"),  # unfollowed E before: not a reshare
        ev("h-sh", "share", "H", at(4, 12), post_id="p3"),  # through F: a reshare
        ev("a7", "click", "A", at(10, 12), post_id="p2"),
        ev("a8", "ad_impression", "A", at(10, 12, 1), campaign_id="k1"),
        ev("a9", "ad_click", "A", at(10, 12, 2), campaign_id="k1"),
    ]
    return rows


def hand_posts() -> list[dict[str, Any]]:
    return [
        {"post_id": "p1", "author_id": "B", "created_at": at(1, 8), "category": "food", "hashtags": ["f"]},
        {"post_id": "p2", "author_id": "C", "created_at": at(1, 9), "category": "tech", "hashtags": ["t"]},
        {"post_id": "p3", "author_id": "C", "created_at": at(4, 8), "category": "tech", "hashtags": []},
    ]


def write_hand_lake(spark: Any, work_dir: Path) -> tuple[FlywheelConfig, Lake]:
    """Silver events and posts of the hand-written platform, written through the Lake API."""
    cfg = make_config(work_dir)
    lake = Lake.from_config(cfg)
    lake.append(spark.createDataFrame(hand_events(), spark_ddl(EVENT_SCHEMA)), "silver.events")
    posts = [p | {"text": None, "campaign_id": None} for p in hand_posts()]
    lake.append(spark.createDataFrame(posts, table("silver.posts").ddl), "silver.posts")
    return cfg, lake


@pytest.fixture(scope="module")
def snapshots(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, dt.date], dict[str, Any]]:
    from socialflywheel.features.job import category_vocabulary
    from socialflywheel.features.user_features import build_user_features

    cfg, lake = write_hand_lake(spark, tmp_path_factory.mktemp("hand-users"))
    cats = category_vocabulary(lake)
    assert cats == ["food", "tech"]
    written = build_user_features(spark, lake, cfg.features, categories=cats)
    rows = lake.read_arrow("gold.user_features").to_pylist()
    assert written == len(rows)
    out = {}
    for r in rows:
        for m in ("event_counts", "engagement_rate", "active_days", "sessions"):
            r[m] = dict(r[m])
        out[(r["user_id"], r["as_of_date"])] = r
    return out


def day(n: int) -> dt.date:
    return D + dt.timedelta(days=n - 1)


def test_one_row_per_user_and_date_from_first_activity(snapshots: dict) -> None:
    a_dates = sorted(d for u, d in snapshots if u == "A")
    assert a_dates == [day(n) for n in range(1, 11)]  # day 1 .. last event date (day 10), no gaps
    assert min(d for u, d in snapshots if u == "H") == day(3)
    assert max(d for _, d in snapshots) == day(10)


@pytest.mark.parametrize(
    ("as_of", "counts"),
    [
        (2, {"view_1d": 0, "view_7d": 1, "view_28d": 1, "like_7d": 1}),
        (3, {"view_1d": 3, "view_7d": 4, "view_28d": 4, "like_7d": 1}),
        (4, {"view_1d": 0, "view_7d": 4, "like_1d": 1, "like_7d": 2}),
        (8, {"view_7d": 3, "like_7d": 1}),  # window days 2..8: day 1 dropped out
        (10, {"view_1d": 0, "view_7d": 0, "view_28d": 4, "click_1d": 1, "click_7d": 1, "like_28d": 2}),
    ],
)
def test_windowed_counts_by_hand(snapshots: dict, as_of: int, counts: dict[str, int]) -> None:
    got = snapshots[("A", day(as_of))]["event_counts"]
    assert {k: got[k] for k in counts} == counts


def test_sessions_active_days_recency(snapshots: dict) -> None:
    a3 = snapshots[("A", day(3))]
    # day 1: view+like 5 min apart = 1 session; day 3: 09:00 (+follow 09:10), 11:00, 23:50 = 3 sessions
    assert a3["sessions"] == {"1d": 3, "7d": 4, "28d": 4}
    assert a3["active_days"] == {"1d": 1, "7d": 2, "28d": 2}
    assert snapshots[("A", day(4))]["sessions"]["1d"] == 0  # the 00:10 like continues the 23:50 session
    assert snapshots[("A", day(10))]["active_days"] == {"1d": 1, "7d": 2, "28d": 4}
    assert snapshots[("A", day(9))]["days_since_last_event"] == 5
    assert snapshots[("A", day(10))]["days_since_last_event"] == 0


def test_engagement_rate_and_dwell(snapshots: dict) -> None:
    a3 = snapshots[("A", day(3))]
    assert a3["engagement_rate"]["7d"] == pytest.approx(1 / 4)
    assert a3["engagement_rate"]["1d"] == 0.0
    assert a3["dwell_mean"] == pytest.approx((1000 + 3000 + 5000 + 25000) / 4)
    assert a3["dwell_p50"] == 3000.0  # element ceil(0.5 * 4) = 2 of the sorted four
    assert a3["dwell_p90"] == 25000.0
    assert snapshots[("A", day(1))]["dwell_p50"] == 1000.0


def test_follower_counts_follow_then_unfollow(snapshots: dict) -> None:
    followers = {n: snapshots[("A", day(n))]["followers"] for n in (1, 2, 4, 5, 10)}
    assert followers == {1: 0, 2: 2, 4: 2, 5: 1, 10: 1}
    assert snapshots[("A", day(2))]["followees"] == 0
    assert snapshots[("A", day(3))]["followees"] == 1
    assert snapshots[("G", day(4))]["followees"] == 0  # followed and unfollowed E the same day
    assert snapshots[("E", day(4))]["followers"] == 0


def test_category_affinity_and_ad_ctr(snapshots: dict) -> None:
    assert snapshots[("A", day(3))]["category_affinity"] == [1.0, 0.0]  # the like of p1 (food)
    assert snapshots[("A", day(4))]["category_affinity"] == [0.5, 0.5]  # + the like of p2 (tech)
    assert snapshots[("A", day(10))]["category_affinity"] == pytest.approx([1 / 3, 2 / 3])  # + click on p2
    assert snapshots[("A", day(9))]["ad_ctr"] == 0.0
    assert snapshots[("A", day(10))]["ad_ctr"] == 1.0


def test_since_returns_only_later_snapshots(spark: Any, tmp_path: Path) -> None:
    from socialflywheel.features.user_features import user_features

    _, lake = write_hand_lake(spark, tmp_path / "w")
    events, posts = lake.read(spark, "silver.events"), lake.read(spark, "silver.posts")
    full = user_features(events, posts, windows_days=[1, 7, 28], categories=["food", "tech"]).toArrow()
    part = user_features(events, posts, windows_days=[1, 7, 28], categories=["food", "tech"], since="2026-10-08")
    got = part.toArrow()
    assert set(got.column("as_of_date").to_pylist()) == {day(8), day(9), day(10)}
    keep = [r for r in full.to_pylist() if r["as_of_date"] >= day(8)]
    key = lambda r: (r["user_id"], r["as_of_date"])  # noqa: E731
    assert sorted(got.to_pylist(), key=key) == sorted(keep, key=key)


def test_feature_vector_reads_maps_by_position_or_by_key_alike(spark: Any) -> None:
    """The vector takes a map's values by position when its keys are the expected ones in order (fast on Sail) and
    looks each key up otherwise: both give the values by key, with nulls and missing keys as 0. Rows: the order the
    job writes, keys shuffled, a key missing, an extra key, an empty and a null map."""
    import math
    import random

    import pyarrow as pa

    from socialflywheel.features.user_features import user_feature_names, user_feature_vector
    from socialflywheel.lake.catalog import EVENT_TYPES

    wins, cats = [1, 7], ["a", "b"]
    keys = [f"{t}_{w}d" for t in EVENT_TYPES for w in wins]
    rng = random.Random(5)
    written = {k: rng.randrange(100) for k in keys}
    shuffled = dict(rng.sample(sorted(written.items()), len(written)))
    missing = {k: v for k, v in written.items() if k != keys[3]}
    extra = {"zzz_1d": 7, **written}
    maps: list[dict[str, int] | None] = [written, shuffled, missing, extra, {}, None]
    schema = table("gold.user_features").schema
    n = len(maps)
    data = pa.table(
        {
            "user_id": [f"u{i}" for i in range(n)],
            "event_counts": pa.array(
                [None if m is None else list(m.items()) for m in maps], schema.field("event_counts").type
            ),
            "engagement_rate": pa.array([[("1d", 0.5), ("7d", None)]] * n, schema.field("engagement_rate").type),
            "active_days": pa.array([[("7d", 3), ("1d", 1)]] * n, schema.field("active_days").type),
            "sessions": pa.array([None] * n, schema.field("sessions").type),
            "dwell_mean": [1.0] * n,
            "dwell_p50": [None] * n,
            "dwell_p90": [2.0] * n,
            "days_since_last_event": pa.array([4] * n, pa.int32()),
            "followers": pa.array([3] * n, pa.int64()),
            "followees": pa.array([None] * n, pa.int64()),
            "ad_ctr": [0.25] * n,
            "category_affinity": pa.array([[0.75, 0.25]] * n, pa.list_(pa.float64())),
        }
    )
    vec = user_feature_vector(windows_days=wins, categories=cats)
    rows = spark.createDataFrame(data).select("user_id", vec.alias("v")).orderBy("user_id").collect()
    names = user_feature_names(windows_days=wins, categories=cats)
    for m, row in zip(maps, rows, strict=True):
        counts = [math.log1p((m or {}).get(k) or 0) for k in keys]
        rest = [0.5, 0.0, 1.0, 3.0, 0.0, 0.0, math.log1p(1.0), 0.0, math.log1p(2.0), 4.0, math.log1p(3.0), 0.0, 0.25]
        assert len(row["v"]) == len(names)
        assert row["v"] == pytest.approx(counts + rest + [0.75, 0.25], rel=1e-12), (row["user_id"], m)

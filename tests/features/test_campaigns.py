"""Campaign metrics against hand-computed answers, and k-suppression of small groups."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

K = 10
SCHEMA = "event_id string, event_type string, user_id string, post_id string, ts timestamp, campaign_id string"
DAY = dt.datetime(2026, 10, 5, 9, 0)


def _ad_events() -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []

    def add(kind: str, user: str, post: str | None, camp: str | None, minute: int) -> None:
        rows.append((f"e{len(rows)}", kind, user, post, DAY + dt.timedelta(minutes=minute), camp))

    # c1: u0 sees the ad 3 times, u1..u11 once -> 14 impressions, reach 12; u0 and u1 click.
    for m in range(3):
        add("ad_impression", "u0", "p1", "c1", m)
    for i in range(1, 12):
        add("ad_impression", f"u{i}", "p1", "c1", 10 + i)
    add("ad_click", "u0", "p1", "c1", 30)
    add("ad_click", "u1", "p1", "c1", 31)
    add("like", "u20", "p1", None, 40)  # engaged through the sponsored post, no impression
    add("like", "u21", "p9", None, 41)  # an organic post: not engagement with c1
    # c2: 9 people (k - 1) -> suppressed; c3: 10 people (k) -> kept.
    for i in range(K - 1):
        add("ad_impression", f"v{i}", "p2", "c2", 50 + i)
    for i in range(K):
        add("ad_impression", f"w{i}", "p3", "c3", 70 + i)
    return rows


@pytest.fixture
def frames(spark: Any) -> tuple[Any, Any]:
    events = spark.createDataFrame(_ad_events(), SCHEMA)
    posts = spark.createDataFrame(
        [("p1", "c1"), ("p2", "c2"), ("p3", "c3"), ("p9", None)], "post_id string, campaign_id string"
    )
    return events, posts


def test_campaign_metrics_known_answers(frames: tuple[Any, Any]) -> None:
    from socialflywheel.features.campaigns import campaign_performance

    events, posts = frames
    out = {r["campaign_id"]: r.asDict() for r in campaign_performance(events, posts, min_users=K).collect()}
    assert set(out) == {"c1", "c3"}  # c2 reached k-1 people: suppressed
    c1 = out["c1"]
    assert c1["day"] == DAY.date()
    assert (c1["impressions"], c1["clicks"], c1["reach"], c1["clickers"]) == (14, 2, 12, 2)
    assert c1["ctr"] == pytest.approx(2 / 14)
    assert c1["frequency"] == pytest.approx(14 / 12)
    assert c1["engaged_users"] == 3  # u0, u1 clicked; u20 liked the sponsored post
    assert (out["c3"]["reach"], out["c3"]["frequency"], out["c3"]["ctr"]) == (K, 1.0, 0.0)


def test_risky_accounts_leave_reach(frames: tuple[Any, Any], spark: Any) -> None:
    from socialflywheel.features.campaigns import campaign_performance
    from socialflywheel.features.risk import without_risky

    events, posts = frames
    risky = spark.createDataFrame([("u0",), ("w0",)], "user_id string")
    out = {
        r["campaign_id"]: r for r in campaign_performance(without_risky(events, risky), posts, min_users=K).collect()
    }
    assert set(out) == {"c1"}  # c3 drops to k-1 people once w0 is left out
    assert (out["c1"]["impressions"], out["c1"]["clicks"], out["c1"]["reach"]) == (11, 1, 11)


def test_suppress_small_groups_boundary(spark: Any) -> None:
    from socialflywheel.features.suppress import suppress_small_groups

    df = spark.createDataFrame([("a", K - 1), ("b", K), ("c", K + 5), ("d", None)], "g string, users bigint")
    kept = sorted(r["g"] for r in suppress_small_groups(df, user_count_col="users", k=K).collect())
    assert kept == ["b", "c"]
    with pytest.raises(ValueError, match=r"k must be >= 1, got 0"):
        suppress_small_groups(df, user_count_col="users", k=0)


def test_default_lake_campaigns_match_planted_delivery(default_lake: Any, spark: Any) -> None:
    """On the default simulation no bot sees ads: per-campaign sums equal the simulator's own counts."""
    from socialflywheel.features.campaigns import build_campaign_performance

    cfg, lake = default_lake
    assert build_campaign_performance(spark, lake, k=cfg.privacy.min_group_users) > 0
    rows = lake.read_arrow("gold.campaign_performance").to_pylist()
    assert min(r["reach"] for r in rows) >= cfg.privacy.min_group_users
    truth = {r["campaign_id"]: r for r in lake.read_arrow("truth.campaigns").to_pylist()}
    for cid, t in truth.items():
        mine = [r for r in rows if r["campaign_id"] == cid]
        assert sum(r["impressions"] for r in mine) == t["impressions"]
        assert sum(r["clicks"] for r in mine) == t["clicks"]

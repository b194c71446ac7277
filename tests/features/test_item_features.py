"""gold.item_features on the hand-written lake: impressions, velocity, sharers/reshares, freshness, authors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from tests.features.test_user_features import day, write_hand_lake


@pytest.fixture(scope="module")
def items(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, dt.date], dict[str, Any]]:
    from socialflywheel.features.item_features import build_item_features

    cfg, lake = write_hand_lake(spark, tmp_path_factory.mktemp("hand-items"))
    written = build_item_features(spark, lake, cfg.features)
    rows = lake.read_arrow("gold.item_features").to_pylist()
    assert written == len(rows)
    return {(r["post_id"], r["as_of_date"]): r | {"engagement_velocity": dict(r["engagement_velocity"])} for r in rows}


def test_snapshots_start_at_creation(items: dict) -> None:
    assert sorted(d for p, d in items if p == "p3") == [day(n) for n in range(4, 11)]
    assert sorted(d for p, d in items if p == "p1") == [day(n) for n in range(1, 11)]


def test_impressions_engagement_and_velocity(items: dict) -> None:
    p1 = items[("p1", day(1))]
    assert (p1["impressions"], p1["likes"], p1["engagements"]) == (1, 1, 1)
    assert p1["engagement_rate"] == 1.0
    assert p1["engagement_velocity"] == {"1h": 0, "6h": 1, "24h": 1}  # the like came 2 h 05 after posting
    assert items[("p1", day(3))]["impressions"] == 2
    assert items[("p1", day(3))]["engagement_rate"] == 0.5
    p2_3, p2_4 = items[("p2", day(3))], items[("p2", day(4))]
    assert (p2_3["impressions"], p2_3["likes"]) == (2, 0)  # the 00:10 like of day 4 is not in day 3's snapshot
    assert (p2_4["likes"], p2_4["engagement_velocity"]["24h"]) == (1, 0)
    assert items[("p2", day(10))]["clicks"] == 1


def test_sharers_and_reshares(items: dict) -> None:
    p3 = items[("p3", day(4))]
    assert p3["shares"] == 5
    assert p3["distinct_sharers"] == 5
    assert p3["reshares"] == 2  # E through D, H through F; G had unfollowed E before sharing
    assert p3["engagement_velocity"] == {"1h": 0, "6h": 5, "24h": 5}


def test_freshness_and_author_features(items: dict) -> None:
    assert items[("p1", day(1))]["age_hours"] == pytest.approx(16.0)  # created 08:00, snapshot ends at 24:00
    assert items[("p1", day(3))]["age_hours"] == pytest.approx(64.0)
    assert items[("p1", day(2))]["author_followers"] == 0  # B is followed by A on day 3
    assert items[("p1", day(3))]["author_followers"] == 1
    assert items[("p2", day(3))]["author_posts"] == 1
    assert items[("p2", day(4))]["author_posts"] == 2  # C posted p3 on day 4
    assert items[("p2", day(4))]["last_event_ts"] == dt.datetime(2026, 10, 4, 0, 10, tzinfo=dt.UTC)

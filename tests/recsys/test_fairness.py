"""Recommendation fairness on a hand-checkable catalogue: 4 posts, 3 creators, 2 users.

The planted case (every number below is worked out by hand):

* posts A, B by creator x (3 followers), C by y (1 follower), D by z (no follower): follower counts
  [0, 1, 3] give median 1 and p90 2.6, so x is ``top``, y ``established``, z ``emerging``;
* interactions: A 3 views, B 1 like, C only its own ``post`` event (not an interaction), D none:
  popularity [3, 1, 0, 0], deciles A 8 (3 items below: 1 + floor(30/4)), B 6, C and D 1;
* u1 gets [A, B], u2 gets [A, C] (ranks 1, 2): exposure A 2, B w, C w, D 0 with w = 1/log2(3);
  impressions [2, 1, 1, 0] have Gini 0.375; coverage 3/4.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.catalog import table
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.fairness import (
    RECOMMENDATION_FAIRNESS,
    build_fairness,
    compute_fairness,
    creator_tiers,
    gini,
    item_popularity,
    log_fairness_to_mlflow,
    popularity_deciles,
    position_weight,
)
from socialflywheel.tracking import Tracking

W = 1.0 / math.log2(3.0)
POSTS = pd.DataFrame({"post_id": ["A", "B", "C", "D"], "author_id": ["x", "x", "y", "z"]})
FOLLOWS = pd.DataFrame({"follower_id": ["f1", "f2", "f3", "f1"], "followee_id": ["x", "x", "x", "y"]})
EVENTS = pd.DataFrame(
    {
        "post_id": ["A", "A", "A", "B", "C", None],
        "event_type": ["view", "view", "view", "like", "post", "follow"],
        "user_id": ["u1", "u2", "f1", "u1", "y", "f1"],
    }
)
RECS = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2"], "post_id": ["A", "B", "A", "C"], "rank": [1, 2, 1, 2]})


def _row(groups: pd.DataFrame, dimension: str, key: str) -> dict[str, Any]:
    rows = groups[(groups.dimension == dimension) & (groups.group_key == key)].to_dict("records")
    assert len(rows) == 1, (dimension, key)
    return rows[0]


def test_position_weight_and_gini_known_values() -> None:
    assert position_weight([1, 3, 7]) == pytest.approx([1.0, 0.5, 1 / 3])
    assert gini([1, 1, 1, 1]) == 0.0
    assert gini([0, 0, 0, 5]) == pytest.approx(0.75)  # (n-1)/n: all on one item
    assert gini([0, 1, 1, 2]) == pytest.approx(0.375)
    assert gini([]) == 0.0 and gini([0, 0]) == 0.0
    with pytest.raises(ValueError, match="ranks are 1-based"):
        position_weight([0])


def test_creator_tiers_by_follower_percentiles() -> None:
    tiers = creator_tiers(FOLLOWS, POSTS.author_id).set_index("author_id")
    assert tiers.followers.to_dict() == {"x": 3, "y": 1, "z": 0}
    assert tiers.tier.to_dict() == {"x": "top", "y": "established", "z": "emerging"}


def test_popularity_counts_interactions_and_ties_share_a_decile() -> None:
    pop = item_popularity(EVENTS, POSTS.post_id)
    assert pop.to_dict() == {"A": 3, "B": 1, "C": 0, "D": 0}
    assert popularity_deciles(pop).to_dict() == {"A": 8, "B": 6, "C": 1, "D": 1}
    ten = pd.Series(np.arange(10), index=[f"p{i}" for i in range(10)])
    assert popularity_deciles(ten).tolist() == list(range(1, 11))


def test_exposure_shares_gini_and_coverage_by_hand() -> None:
    tiers = creator_tiers(FOLLOWS, POSTS.author_id)
    res = compute_fairness(RECS, POSTS, tiers, item_popularity(EVENTS, POSTS.post_id))
    total = 2 + 2 * W
    m = res.metrics
    assert m["fairness.catalogue_coverage"] == pytest.approx(0.75)
    assert m["fairness.gini_impressions"] == pytest.approx(0.375)
    x = np.sort([0.0, W, W, 2.0])  # exposure per item, D's zero included
    assert m["fairness.gini_exposure"] == pytest.approx((2 * np.sum(np.arange(1, 5) * x)) / (4 * total) - 5 / 4)
    assert m["fairness.exposure_share.creator_tier.top"] == pytest.approx((2 + W) / total)
    assert m["fairness.exposure_share.creator_tier.established"] == pytest.approx(W / total)
    assert m["fairness.exposure_share.creator_tier.emerging"] == 0.0
    assert m["fairness.impression_share.creator_tier.top"] == pytest.approx(0.75)
    assert m["fairness.impression_share.popularity_decile.8"] == pytest.approx(0.5)
    assert m["fairness.impression_share.popularity_decile.6"] == pytest.approx(0.25)
    assert m["fairness.exposure_share.popularity_decile.1"] == pytest.approx(W / total)
    assert m["fairness.exposure_share.popularity_decile.10"] == 0.0
    g = res.groups
    top = _row(g, "creator_tier", "top")
    assert (top["items"], top["recommended_items"], top["creators"], top["users"]) == (2, 2, 1, 2)
    assert top["catalogue_share"] == 0.5 and top["exposure"] == pytest.approx(2 + W)
    emerging = _row(g, "creator_tier", "emerging")
    assert (emerging["items"], emerging["recommended_items"], emerging["users"], emerging["impressions"]) == (
        1,
        0,
        0,
        0,
    )
    d1 = _row(g, "popularity_decile", "1")
    assert (d1["items"], d1["recommended_items"], d1["users"]) == (2, 1, 1)
    overall = _row(g, "overall", "all")
    assert (overall["items"], overall["impressions"], overall["users"]) == (4, 4, 2)
    assert overall["exposure"] == pytest.approx(total)
    assert len(g) == 1 + 3 + 10  # every tier and decile listed, empty ones included
    for dim in ("creator_tier", "popularity_decile"):
        part = g[g.dimension == dim]
        assert part.exposure_share.sum() == pytest.approx(1.0) and part.catalogue_share.sum() == pytest.approx(1.0)


def test_recommended_post_outside_catalogue_is_unknown_tier() -> None:
    recs = pd.concat([RECS, pd.DataFrame({"user_id": ["u1"], "post_id": ["E"], "rank": [3]})], ignore_index=True)
    tiers = creator_tiers(FOLLOWS, POSTS.author_id)
    res = compute_fairness(recs, POSTS, tiers, item_popularity(EVENTS, POSTS.post_id))
    unknown = _row(res.groups, "creator_tier", "unknown")
    assert (unknown["items"], unknown["impressions"]) == (1, 1)
    assert res.metrics["fairness.catalogue_items"] == 5.0


# ------------------------------------------------------------------------------------ through the lake
_ARROW = {"string": pa.string(), "bigint": pa.int64(), "int": pa.int32(), "double": pa.float64()}


def _arrow(name: str, data: dict[str, list[Any]]) -> pa.Table:
    """A catalog table's columns from ``data``; the others null, timestamps UTC, dates from ts."""
    types = table(name).column_types
    n = len(next(iter(data.values())))
    cols: dict[str, pa.Array] = {}
    for col, ddl in types.items():
        if ddl == "timestamp":
            typ: pa.DataType = pa.timestamp("us", tz="UTC")
        elif ddl == "date":
            typ = pa.date32()
        elif ddl.startswith("array<"):
            typ = pa.list_(pa.string())
        elif ddl.startswith("map<"):
            typ = pa.map_(pa.string(), pa.string())
        else:
            typ = _ARROW[ddl]
        if col in data:
            cols[col] = pa.array(data[col], typ)
        elif ddl == "date":
            cols[col] = pa.array([dt.date(2026, 10, 1)] * n, typ)
        else:
            cols[col] = pa.nulls(n, typ)
    return pa.table(cols)


def _recs(version: str, recs: pd.DataFrame, at: dt.datetime) -> pa.Table:
    return _arrow(
        "gold.recommendations",
        {
            "user_id": recs.user_id.tolist(),
            "post_id": recs.post_id.tolist(),
            "rank": recs["rank"].tolist(),
            "score": [1.0] * len(recs),
            "source": ["model"] * len(recs),
            "model_version": [version] * len(recs),
            "generated_at": [at] * len(recs),
        },
    )


@pytest.fixture
def hand_lake(lake: Lake) -> Lake:
    import socialflywheel.recsys.tables  # noqa: F401  (declares gold.recommendations)

    lake.write_arrow(
        _arrow("silver.posts", {"post_id": POSTS.post_id.tolist(), "author_id": POSTS.author_id.tolist()}),
        "silver.posts",
    )
    lake.write_arrow(
        _arrow(
            "silver.follows", {"follower_id": FOLLOWS.follower_id.tolist(), "followee_id": FOLLOWS.followee_id.tolist()}
        ),
        "silver.follows",
    )
    ev = {c: [None if pd.isna(v) else v for v in EVENTS[c]] for c in EVENTS.columns}
    ev["event_id"] = [f"e{i}" for i in range(len(EVENTS))]
    lake.write_arrow(_arrow("silver.events", ev), "silver.events")
    t1 = dt.datetime(2026, 10, 2, tzinfo=dt.UTC)
    lake.write_arrow(_recs("1", RECS, t1), "gold.recommendations")
    other = pd.DataFrame({"user_id": ["u1", "u2"], "post_id": ["D", "D"], "rank": [1, 1]})
    lake.write_arrow(_recs("2", other, t1 + dt.timedelta(hours=1)), "gold.recommendations")
    return lake


def test_build_fairness_writes_versions_and_replaces_own_rows(work: FlywheelConfig, hand_lake: Lake) -> None:
    latest = build_fairness(hand_lake)
    assert latest["model_version"] == "2"  # the most recently generated slice by default
    assert latest["fairness.exposure_share.creator_tier.emerging"] == 1.0
    assert latest["fairness.catalogue_coverage"] == 0.25 and latest["rows_in"] == 2 and latest["rows_out"] == 14
    first = build_fairness(hand_lake, model_version="1")
    again = build_fairness(hand_lake, model_version="1")
    assert first["fairness.gini_impressions"] == pytest.approx(0.375) == again["fairness.gini_impressions"]
    assert first["generated_at"] == "2026-10-02T00:00:00"
    stored = hand_lake.read_arrow(RECOMMENDATION_FAIRNESS.name).to_pandas()
    assert stored.groupby("model_version").size().to_dict() == {"1": 14, "2": 14}  # rerun replaced, not added
    v1 = stored[stored.model_version == "1"]
    top = v1[(v1.dimension == "creator_tier") & (v1.group_key == "top")].iloc[0]
    assert top.exposure_share == pytest.approx((2 + W) / (2 + 2 * W)) and top.users == 2
    assert set(v1.catalogue_coverage) == {0.75}


def test_build_fairness_without_recommendations(work: FlywheelConfig, lake: Lake) -> None:
    out = build_fairness(lake)
    assert out == {"model_version": None, "rows_in": 0, "rows_out": 0}
    assert not lake.exists(RECOMMENDATION_FAIRNESS.name)


def test_log_fairness_to_mlflow(work: FlywheelConfig) -> None:
    from socialflywheel.tracking import setup

    mlflow = setup(Tracking.from_config(work))
    metrics = {"model_version": "1", "fairness.gini_exposure": 0.5, "fairness.catalogue_coverage": 0.75, "rows_out": 3}
    with mlflow.start_run() as run:
        logged = log_fairness_to_mlflow(metrics)
    assert logged == {"fairness.gini_exposure": 0.5, "fairness.catalogue_coverage": 0.75}
    data = mlflow.get_run(run.info.run_id).data
    assert data.metrics == logged and data.tags["fairness.model_version"] == "1"

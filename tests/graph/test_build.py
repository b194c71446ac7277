"""Spark side: id mapping with dense_rank, follow and decayed engagement edges, holdout and exclusions."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from socialflywheel.graph.build import assign_ids, build_graph_inputs, engagement_edges, follow_edges
from socialflywheel.lake.catalog import table

AS_OF = datetime(2026, 10, 10, tzinfo=UTC)


def day(n: float) -> datetime:
    return AS_OF - timedelta(days=n)


FOLLOWS = [
    ("a", "b", day(9)),
    ("b", "c", day(8)),
    ("c", "a", day(7)),
    ("a", "c", day(1)),  # recent: held out with holdout_days=2
    ("d", "a", day(5)),
    ("e", "e", day(5)),  # self-follow: dropped
]
POSTS = [("p1", "a"), ("p2", "c"), ("p3", "d")]
EVENTS = [  # (event_type, user_id, post_id, ts)
    ("like", "b", "p1", day(0)),  # weight 1
    ("view", "b", "p1", day(7)),  # weight 0.5 with a 7-day half-life
    ("comment", "c", "p2", day(0)),  # self-engagement: excluded
    ("share", "e", "p3", day(14)),  # weight 0.25
    ("search", "a", "p3", day(0)),  # not an engagement type
    ("post", "a", "p1", day(9)),
]


def frames(spark: Any) -> tuple[Any, Any, Any]:
    follows = spark.createDataFrame(FOLLOWS, table("silver.follows").ddl)
    posts = spark.createDataFrame([(p, a, day(20), "news", [], "", None) for p, a in POSTS], table("silver.posts").ddl)
    events = spark.createDataFrame(
        [
            (f"e{i}", t, u, p, None, ts, 0, None, [], "FR", "ios", None, ts.date())
            for i, (t, u, p, ts) in enumerate(EVENTS)
        ],
        table("silver.events").ddl,
    )
    return follows, events, posts


def test_assign_ids_is_dense_and_sorted(spark: Any) -> None:
    edges = spark.createDataFrame([("z", "b"), ("b", "k"), ("k", "z")], "src_user string, dst_user string")
    other = spark.createDataFrame([("q", "b")], "src_user string, dst_user string")
    got = sorted((r["user_id"], r["node_id"]) for r in assign_ids(edges, other).collect())
    assert got == [("b", 0), ("k", 1), ("q", 2), ("z", 3)]


def test_engagement_weights_decay_and_skip_self(spark: Any) -> None:
    _, events, posts = frames(spark)
    rows = engagement_edges(
        events, posts, as_of=AS_OF, half_life_days=7.0, event_types=["like", "share", "comment", "click", "view"]
    ).collect()
    got = {(r["src_user"], r["dst_user"]): r["weight"] for r in rows}
    assert got.keys() == {("b", "a"), ("e", "d")}
    assert got[("b", "a")] == pytest.approx(1.5)
    assert got[("e", "d")] == pytest.approx(math.exp(-14 * math.log(2) / 7))


def test_follow_holdout_split(spark: Any) -> None:
    follows, _, _ = frames(spark)
    kept, held = follow_edges(follows, cutoff=day(2))
    assert sorted(tuple(r) for r in held.collect()) == [("a", "c")]
    assert sorted(tuple(r) for r in kept.collect()) == [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a")]


def test_build_graph_inputs(spark: Any) -> None:
    follows, events, posts = frames(spark)
    inputs = build_graph_inputs(follows, events, posts, half_life_days=7.0, holdout_days=2)
    assert inputs.as_of == AS_OF
    assert inputs.user_ids.to_pylist() == ["a", "b", "c", "d", "e"]
    f = inputs.follows
    assert sorted(zip(f.src.tolist(), f.dst.tolist(), strict=True)) == [(0, 1), (1, 2), (2, 0), (3, 0)]
    assert list(zip(inputs.holdout.src.tolist(), inputs.holdout.dst.tolist(), strict=True)) == [(0, 2)]
    e = inputs.engagement
    assert sorted(zip(e.src.tolist(), e.dst.tolist(), strict=True)) == [(1, 0), (4, 3)]
    assert np.allclose(sorted(e.weights.tolist()), [0.25, 1.5])


def test_excluded_accounts_leave_every_graph(spark: Any) -> None:
    follows, events, posts = frames(spark)
    risky = spark.createDataFrame([("d",)], "user_id string")
    inputs = build_graph_inputs(follows, events, posts, exclude=risky)
    assert inputs.user_ids.to_pylist() == ["a", "b", "c"]  # d is risky; e only engaged with d
    assert inputs.follows.num_edges == 4 and inputs.engagement.num_edges == 1

"""Planted structure: heavy-tailed in-degree, influencers on top, edge share, bots, sentiment, trends."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np
import pytest

from socialflywheel.config import FlywheelConfig, load_config
from socialflywheel.lake.io import Lake
from socialflywheel.simulate import SimulateResult
from socialflywheel.simulate.world import World, make_world


@pytest.fixture(scope="module")
def default_world() -> World:
    """The default profile's planted world (no events written: the graph is what is tested)."""
    return make_world(load_config(overrides=["simulate.profile=default"]).simulate)


def tail_exponent(degrees: np.ndarray, quantile: float = 90.0) -> float:
    """Discrete power-law MLE (Clauset et al.) of the pdf exponent above the given quantile."""
    xmin = max(int(np.percentile(degrees, quantile)), 2)
    tail = degrees[degrees >= xmin].astype(float)
    return 1.0 + len(tail) / float(np.log(tail / (xmin - 0.5)).sum())


def test_in_degree_is_heavy_tailed(default_world: World) -> None:
    indeg = default_world.graph.in_degree(default_world.pop.n)
    gamma = tail_exponent(indeg)
    assert 1.8 <= gamma <= 3.2, gamma
    assert indeg.max() > 20 * max(np.median(indeg), 1)


def test_influencers_are_in_top_percent_of_their_community(default_world: World) -> None:
    pop = default_world.pop
    indeg = default_world.graph.in_degree(pop.n)
    for k in range(int(pop.community.max()) + 1):
        members = np.flatnonzero(pop.community == k)
        top = members[np.argsort(-indeg[members], kind="stable")][: math.ceil(0.01 * len(members))]
        influencers = members[pop.is_influencer[members]]
        assert len(influencers) == 3 and set(influencers) <= set(top), k


@pytest.mark.parametrize("share", [0.05, 0.3])
def test_inter_community_share_follows_config(share: float) -> None:
    cfg = load_config(
        overrides=[
            "simulate.profile=custom",
            "simulate.users=2000",
            "simulate.events=20000",
            f"simulate.inter_community_edge_share={share}",
        ]
    )
    world = make_world(cfg.simulate)
    g, com = world.graph, world.pop.community
    measured = float(np.mean(com[g.src[g.current]] != com[g.dst[g.current]]))
    assert abs(measured - share) <= 0.02


def _current_edges(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    edges: set[tuple[str, str]] = set()
    for e in sorted((e for e in events if e["event_type"] in ("follow", "unfollow")), key=lambda e: e["ts"]):
        pair = (e["user_id"], e["target_user_id"])
        if e["event_type"] == "follow":
            edges.add(pair)
        else:
            edges.discard(pair)
    return edges


def test_landing_follows_match_truth_and_share(
    tiny: tuple[FlywheelConfig, SimulateResult], tiny_events: list[dict[str, Any]]
) -> None:
    cfg, _ = tiny
    lake = Lake.from_config(cfg)
    edges = _current_edges(tiny_events)
    truth = lake.read_arrow("truth.follows").to_pylist()
    assert edges == {(r["follower_id"], r["followee_id"]) for r in truth if r["unfollowed_at"] is None}
    assert any(r["unfollowed_at"] is not None for r in truth)
    community = {r["user_id"]: r["community"] for r in lake.read_arrow("truth.users").to_pylist()}
    measured = sum(community[a] != community[b] for a, b in edges) / len(edges)
    assert abs(measured - cfg.simulate.inter_community_edge_share) <= 0.02


def test_bots_are_follow_heavy_fast_and_coordinated(
    tiny: tuple[FlywheelConfig, SimulateResult], tiny_events: list[dict[str, Any]]
) -> None:
    cfg, _ = tiny
    users = Lake.from_config(cfg).read_arrow("truth.users").to_pylist()
    bots = {r["user_id"] for r in users if r["is_bot"]}
    assert len(bots) == 3
    dwell = {True: [], False: []}  # type: dict[bool, list[int]]
    follows: Counter[str] = Counter()
    targets: dict[str, set[str]] = {}
    for e in tiny_events:
        if e["event_type"] == "view":
            dwell[e["user_id"] in bots].append(e["dwell_ms"])
        elif e["event_type"] == "follow":
            follows[e["user_id"]] += 1
            targets.setdefault(e["user_id"], set()).add(e["target_user_id"])
    assert np.median(dwell[True]) * 4 < np.median(dwell[False])
    humans = [follows[r["user_id"]] for r in users if not r["is_bot"]]
    assert min(follows[b] for b in bots) > np.percentile(humans, 95)
    common = set.intersection(*(targets[b] for b in bots))  # coordinated: the same targets
    assert len(common) >= 10


def test_vader_recovers_planted_sentiment(
    tiny: tuple[FlywheelConfig, SimulateResult], tiny_events: list[dict[str, Any]]
) -> None:
    from sklearn.metrics import f1_score
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    cfg, _ = tiny
    truth = {r["event_id"]: r["sentiment"] for r in Lake.from_config(cfg).read_arrow("truth.sentiment").to_pylist()}
    texts = {e["event_id"]: e["text"] for e in tiny_events if e["event_type"] in ("post", "comment")}
    assert set(texts) == set(truth)
    vader = SentimentIntensityAnalyzer()

    def label(text: str) -> str:
        score = vader.polarity_scores(text)["compound"]
        return "positive" if score >= 0.05 else "negative" if score <= -0.05 else "neutral"

    ids = sorted(truth)
    f1 = f1_score([truth[i] for i in ids], [label(texts[i]) for i in ids], average="macro")
    assert f1 >= 0.85, f1
    assert set(truth.values()) == {"positive", "negative", "neutral"}


def test_trend_tags_burst_in_their_window(default_world: World) -> None:
    c = default_world.content
    tags = c.tags.to_pylist()  # an Arrow list<string> array, one row per post
    hours = (c.created_ms - default_world.period.start_ms) // 3_600_000
    for k, tag in enumerate(c.trend_tag):
        uses = np.array([tag in row for row in tags])
        inside = (c.created_ms >= c.trend_start_ms[k]) & (c.created_ms < c.trend_end_ms[k])
        window_h = (c.trend_end_ms[k] - c.trend_start_ms[k]) / 3_600_000
        rate_in = uses[inside].sum() / window_h
        rate_out = uses[~inside].sum() / (default_world.period.hours - window_h)
        assert rate_in > 20 * max(rate_out, 0.01), tag
    steady = Counter(t for row in tags for t in row)
    assert max(steady[t] for t in c.trend_tag) < steady["photooftheday"]  # raw counts favour steady tags
    assert hours.max() < default_world.period.hours

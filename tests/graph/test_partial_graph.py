"""The graph job on lakes without follow events (Twitter or Reddit dumps): the engagement graph stands in for the
follow graph, and an edgeless graph writes no communities of one."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.graph.build import build_graph_inputs
from socialflywheel.graph.job import run_graph
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.lake.catalog import table
from socialflywheel.lake.io import Lake
from socialflywheel.privacy.pseudonymize import pseudonym
from tests.conftest import make_config

T0 = datetime(2026, 10, 1, 8, tzinfo=UTC)
# Two planted groups; the first member of each is its hub (everyone also comments on and shares its post).
GROUPS = [[f"a{i}" for i in range(6)], [f"b{i}" for i in range(6)]]
HUBS = [g[0] for g in GROUPS]
SKIPPED = ("a1", "a2")  # a1 never engages with a2's post: a2 is the friend-of-friend people-you-may-know finds


def landing_event(n: int, kind: str, user: str, post: str, hours: float) -> dict[str, Any]:
    ts = (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")
    return {"event_id": f"e{n}", "event_type": kind, "user_id": user, "post_id": post, "ts": ts}


def ingest(spark: Any, cfg: FlywheelConfig, actions: list[tuple[str, str, str]]) -> Lake:
    """Land every person's post and the ``(event_type, user, author)`` actions on it, then ingest and conform."""
    people = sorted({p for _, u, a in actions for p in (u, a)})
    events = [landing_event(i, "post", p, f"p_{p}", 0) for i, p in enumerate(people)]
    events += [landing_event(len(events) + i, k, u, f"p_{a}", 1 + i / 60) for i, (k, u, a) in enumerate(actions)]
    path = cfg.landing_dir / "events" / "date=2026-10-01" / "part-00000.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    lake = Lake.from_config(cfg)
    run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    run_conform(spark, lake, cfg.privacy)
    assert lake.read_arrow("silver.events").num_rows == len(events)  # nothing quarantined
    return lake


def planted_actions() -> list[tuple[str, str, str]]:
    """Likes inside each group (comments and shares on the hub's post too), views across groups, one bridge."""
    actions = []
    for group, hub in zip(GROUPS, HUBS, strict=True):
        for u in group:
            actions += [("like", u, v) for v in group if v != u and (u, v) != SKIPPED]
            actions += [("comment", u, hub), ("share", u, hub)] if u != hub else []
        other = GROUPS[1] if group is GROUPS[0] else GROUPS[0]
        actions += [("view", u, v) for u in group for v in other]  # exposure, not engagement: links nobody
    return [*actions, ("like", "a5", "b3")]


def graph_config(tmp_path: Path) -> FlywheelConfig:
    return make_config(tmp_path / "work", "graph.backend=networkit", "graph.threads=2", "graph.pymk_k=3")


def warnings_about(caplog: pytest.LogCaptureFixture, words: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and words in r.getMessage()]


def test_without_follows_the_engagement_graph_recovers_planted_groups_and_hubs(
    spark: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = graph_config(tmp_path)
    lake = ingest(spark, cfg, planted_actions())
    assert lake.read_arrow("silver.follows").num_rows == 0
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="socialflywheel.graph"):
        summary = run_graph(spark, lake, cfg.graph)
    key = cfg.privacy.hmac_key()
    raw = {pseudonym(u, key): u for g in GROUPS for u in g}

    assert summary.graph == "engagement" and summary.follow_edges == 0
    assert summary.communities == 2 and summary.modularity is not None and summary.modularity > 0.3
    assert summary.no_communities is None
    fallback = warnings_about(caplog, "no follow edges")
    assert len(fallback) == 1 and "engagement graph" in fallback[0]
    assert not warnings_about(caplog, "no communities")

    cent = {raw[r["user_id"]]: r for r in lake.read_arrow("gold.graph_centrality").to_pylist()}
    assert set(cent) == set(raw.values())
    # membership, not counts: each planted group is one community, the two differ
    found = [{cent[u]["community"] for u in g} for g in GROUPS]
    assert all(len(c) == 1 for c in found) and found[0] != found[1]
    # degrees count distinct people who liked, commented, shared (views across groups do not link)
    assert cent["b1"]["in_degree"] == 5 and cent["a2"]["in_degree"] == 4 and cent["b3"]["in_degree"] == 6
    for group, hub in zip(GROUPS, HUBS, strict=True):
        assert cent[hub]["rank_in_community"] == 1
        assert cent[hub]["pagerank"] > max(cent[u]["pagerank"] for u in group if u != hub)

    comms = {r["community"]: r for r in lake.read_arrow("gold.graph_communities").to_pylist()}
    assert sorted(c["size"] for c in comms.values()) == [6, 6]
    for group, hub in zip(GROUPS, HUBS, strict=True):
        row = comms[cent[hub]["community"]]
        assert raw[row["top_influencers"][0]] == hub
        assert {raw[u] for u in row["top_influencers"]} <= set(group)

    # people-you-may-know runs on the same graph: a1's best suggestion is a2, the one group member it skipped
    pymk = [r for r in lake.read_arrow("gold.people_you_may_know").to_pylist() if raw[r["user_id"]] == "a1"]
    assert pymk and raw[min(pymk, key=lambda r: r["rank"])["candidate_id"]] == "a2"
    engaged = {(u, a) for k, u, a in planted_actions() if k != "view"}
    assert all((raw[r["user_id"]], raw[r["candidate_id"]]) not in engaged for r in pymk)


def test_no_follows_and_no_engagement_between_people_writes_no_communities(
    spark: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """People like and comment on their own posts and only view each other's: nobody is linked to anybody."""
    people = [f"u{i}" for i in range(5)]
    actions = [(k, u, u) for u in people for k in ("like", "comment")]
    actions += [("view", u, v) for u in people for v in people if u != v]
    cfg = graph_config(tmp_path)
    lake = ingest(spark, cfg, actions)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="socialflywheel.graph"):
        summary = run_graph(spark, lake, cfg.graph)

    assert summary.graph == "engagement" and summary.nodes == len(people)
    assert summary.communities == 0 and summary.modularity is None
    assert summary.no_communities is not None and "community of one" in summary.no_communities
    said = warnings_about(caplog, "no communities")
    assert len(said) == 1 and summary.no_communities in said[0]
    assert lake.exists("gold.graph_communities") and lake.read_arrow("gold.graph_communities").num_rows == 0
    cent = lake.read_arrow("gold.graph_centrality")
    assert cent.num_rows == len(people)  # centrality still written, without a community of one each
    assert cent.column("community").null_count == cent.column("rank_in_community").null_count == len(people)
    assert lake.read_arrow("gold.people_you_may_know").num_rows == 0


def test_engagement_fallback_weights_count_interactions_without_decay_or_views(spark: Any) -> None:
    day = timedelta(days=1)
    posts = spark.createDataFrame([("p1", "a", T0, "news", [], "", None)], table("silver.posts").ddl)
    rows = [("like", "b", T0 - 30 * day), ("comment", "b", T0), ("view", "b", T0), ("view", "c", T0)]
    events = spark.createDataFrame(
        [
            (f"e{i}", k, u, "p1", None, ts, 0, None, [], "FR", "ios", None, ts.date())
            for i, (k, u, ts) in enumerate(rows)
        ],
        table("silver.events").ddl,
    )
    no_follows = spark.createDataFrame([], table("silver.follows").ddl)
    inputs = build_graph_inputs(no_follows, events, posts, half_life_days=7.0)
    assert inputs.graph == "engagement" and inputs.user_ids.to_pylist() == ["a", "b", "c"]
    g = inputs.social
    # b -> a: a month-old like and a comment count 2 (no decay); c only viewed: no edge
    assert list(zip(g.src.tolist(), g.dst.tolist(), g.weights.tolist(), strict=True)) == [(1, 0, 2.0)]
    assert inputs.engagement.num_edges == 2  # the decayed engagement graph keeps views, as before

    follows = spark.createDataFrame([("c", "a", T0)], table("silver.follows").ddl)
    with_follows = build_graph_inputs(follows, events, posts, half_life_days=7.0)
    assert with_follows.graph == "follows" and with_follows.interactions is None
    assert with_follows.social is with_follows.follows
    assert np.array_equal(with_follows.social.src, [2]) and np.array_equal(with_follows.social.dst, [0])

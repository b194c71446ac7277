"""run_graph end to end on hand-made silver tables written through the Lake API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from socialflywheel.graph.job import GraphResult, run_graph
from socialflywheel.lake.catalog import table
from socialflywheel.lake.io import Lake
from tests.conftest import make_config

AS_OF = datetime(2026, 10, 28, 12, tzinfo=UTC)
GROUPS = [[f"u{i}" for i in range(6)], [f"v{i}" for i in range(6)]]


def silver(spark: Any, lake: Lake) -> None:
    """Two dense follow groups joined by one bridge; users engage with their own group's posts."""
    follows = []
    for members in GROUPS:
        for i, a in enumerate(members):
            for j, b in enumerate(members):
                if a != b and (i + j) % 4 != 1:  # leave gaps for people-you-may-know
                    follows.append((a, b, AS_OF - timedelta(days=3 + i)))
    follows.append(("u0", "v0", AS_OF - timedelta(days=10)))
    posts = [(f"p_{m[0]}", m[0], AS_OF - timedelta(days=20), "news", [], "", None) for m in GROUPS]
    events = []
    for g, members in enumerate(GROUPS):
        for i, user in enumerate(members[1:]):
            ts = AS_OF - timedelta(days=i)
            post = f"p_{members[0]}"
            events.append((f"e{g}{i}", "like", user, post, None, ts, 0, None, [], "FR", "ios", None, ts.date()))
    lake.overwrite(spark.createDataFrame(follows, table("silver.follows").ddl), "silver.follows")
    lake.overwrite(spark.createDataFrame(posts, table("silver.posts").ddl), "silver.posts")
    lake.overwrite(spark.createDataFrame(events, table("silver.events").ddl), "silver.events")


@pytest.fixture
def graph_run(spark: Any, tmp_path: Path) -> tuple[GraphResult, Lake, Any]:
    cfg = make_config(tmp_path / "work", "graph.backend=networkit", "graph.threads=2", "graph.pymk_k=3")
    lake = Lake.from_config(cfg)
    silver(spark, lake)
    return run_graph(spark, lake, cfg.graph), lake, cfg


def test_run_graph_writes_gold_tables_with_catalog_schema(spark: Any, graph_run: tuple[GraphResult, Lake, Any]) -> None:
    summary, lake, _ = graph_run
    assert summary.backend == "networkit" and summary.nodes == 12
    assert summary.communities == 2 and summary.modularity > 0.3
    assert set(summary.seconds) >= {"build", "pagerank", "core_number", "betweenness", "leiden", "write"}
    for name in ("gold.graph_centrality", "gold.graph_communities", "gold.people_you_may_know"):
        assert lake.exists(name)
        expected = spark.createDataFrame([], table(name).ddl).schema
        got = lake.read(spark, name).schema
        assert [(f.name, f.dataType) for f in got.fields] == [(f.name, f.dataType) for f in expected.fields]
    assert summary.rows_out == sum(summary.rows_written.values())


def test_run_graph_values(spark: Any, graph_run: tuple[GraphResult, Lake, Any]) -> None:
    _, lake, _ = graph_run
    cent = lake.read_arrow("gold.graph_centrality").to_pylist()
    by_user = {r["user_id"]: r for r in cent}
    assert sum(r["pagerank"] for r in cent) == pytest.approx(1.0)
    follows = {(r["follower_id"], r["followee_id"]) for r in lake.read_arrow("silver.follows").to_pylist()}
    for user, row in by_user.items():
        assert row["out_degree"] == sum(1 for a, _ in follows if a == user)
        assert row["in_degree"] == sum(1 for _, b in follows if b == user)
    assert by_user["u1"]["engagement_out"] == pytest.approx(1.0)  # liked u0's post today
    assert {r["component"] for r in cent} == {0}
    assert {by_user[u]["community"] for u in GROUPS[0]} != {by_user[v]["community"] for v in GROUPS[1]}
    assert all(len({by_user[u]["community"] for u in g}) == 1 for g in GROUPS)
    assert sorted(r["rank_in_community"] for r in cent if r["community"] == 0) == list(range(1, 7))
    comms = lake.read_arrow("gold.graph_communities").to_pylist()
    assert sorted(c["size"] for c in comms) == [6, 6] and all(c["algorithm"] == "leiden" for c in comms)
    for c in comms:
        members = [r for r in cent if r["community"] == c["community"]]
        best = max(members, key=lambda r: r["pagerank"])["user_id"]
        assert c["top_influencers"][0] == best and len(c["top_influencers"]) == 5
    pymk = lake.read_arrow("gold.people_you_may_know").to_pylist()
    assert pymk and all((r["user_id"], r["candidate_id"]) not in follows for r in pymk)
    assert all(r["user_id"] != r["candidate_id"] and 1 <= r["rank"] <= 3 for r in pymk)
    assert np.all(np.diff([r["score"] for r in pymk if r["user_id"] == "u1"]) <= 0)


def test_run_graph_is_idempotent(spark: Any, graph_run: tuple[GraphResult, Lake, Any]) -> None:
    summary, lake, cfg = graph_run
    before = lake.read_arrow("gold.graph_centrality").sort_by("user_id")
    again = run_graph(spark, lake, cfg.graph)
    after = lake.read_arrow("gold.graph_centrality").sort_by("user_id")
    assert again.nodes == summary.nodes
    assert after.drop(["betweenness"]).equals(before.drop(["betweenness"]))
    assert np.allclose(after.column("betweenness").to_numpy(), before.column("betweenness").to_numpy())
    assert lake.read_arrow("gold.people_you_may_know").num_rows == summary.rows_written["gold.people_you_may_know"]


def test_tables_staged_through_the_lake_give_the_same_run(
    spark: Any, graph_run: tuple[GraphResult, Lake, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With every Arrow table staged under the lake (as millions of people are: lake.staged), the node-id map and
    the gold tables go through Parquet and the run is the same; nothing is left in _staging."""
    from socialflywheel.lake import staged

    summary, lake, cfg = graph_run
    before = {name: lake.read_arrow(name) for name in summary.rows_written}
    monkeypatch.setattr(staged, "INLINE_LIMIT_BYTES", 0)
    removed: list[str] = []
    remove_tree = staged.remove_tree
    monkeypatch.setattr(staged, "remove_tree", lambda uri: (removed.append(uri), remove_tree(uri)))
    again = run_graph(spark, lake, cfg.graph)
    assert len(removed) == 6  # the node-id map, the community members and the four gold tables: staged, removed
    assert again.nodes == summary.nodes and again.rows_written == summary.rows_written
    for name, old in before.items():
        new = lake.read_arrow(name)
        keys = [c for c in ("user_id", "candidate_id", "community") if c in old.column_names]
        exact = [c for c in old.column_names if c != "betweenness"]
        assert (
            new.select(exact)
            .sort_by([(k, "ascending") for k in keys])
            .equals(old.select(exact).sort_by([(k, "ascending") for k in keys]))
        ), name
    staging = Path(lake.root) / "_staging"
    assert not staging.exists() or not any(staging.iterdir())


def test_a_holdout_run_keeps_pymk_quality_against_its_suggestions(spark: Any, tmp_path: Path) -> None:
    """#19: with graph.holdout_days the job scores its suggestions on the follows it kept out (gold.pymk_quality).

    Oracle from the tables themselves: the held-out follows (silver.follows at or after the cut) whose followee is
    among the follower's top k in gold.people_you_may_know. A second run of the same cut replaces its row.
    """
    cfg = make_config(tmp_path / "work", "graph.backend=networkit", "graph.pymk_k=3", "graph.holdout_days=4")
    lake = Lake.from_config(cfg)
    silver(spark, lake)
    result = run_graph(spark, lake, cfg.graph)
    cut = AS_OF - timedelta(days=4)
    held = [(r["follower_id"], r["followee_id"]) for r in lake.read_arrow("silver.follows").to_pylist()
            if r["since"].replace(tzinfo=UTC) >= cut]  # fmt: skip
    suggested = {(r["user_id"], r["candidate_id"]) for r in lake.read_arrow("gold.people_you_may_know").to_pylist()}
    assert held and result.held_out_follows == len(held)
    want = sum(pair in suggested for pair in held) / len(held)
    assert 0 < want < 1  # the planted gaps: some held-out follows were suggested, some not
    assert result.pymk_recall == pytest.approx(want) and result.pymk_baseline_recall is not None
    rows = lake.read_arrow("gold.pymk_quality").to_pylist()
    assert len(rows) == 1 and rows[0]["recall"] == pytest.approx(want) and rows[0]["k"] == 3
    assert rows[0]["held_out_follows"] == len(held) and rows[0]["holdout_days"] == 4
    run_graph(spark, lake, cfg.graph)
    assert lake.read_arrow("gold.pymk_quality").num_rows == 1


def test_the_community_graph_says_what_communities_are_about_and_how_they_link(
    spark: Any, graph_run: tuple[GraphResult, Lake, Any]
) -> None:
    """#19: gold.community_graph: the one planted bridge (u0 follows v0) links the two groups; both like news."""
    _, lake, _ = graph_run
    cent = {r["user_id"]: r["community"] for r in lake.read_arrow("gold.graph_centrality").to_pylist()}
    rows = {r["community"]: r for r in lake.read_arrow("gold.community_graph").to_pylist()}
    a, b = cent["u0"], cent["v0"]
    assert set(rows) == {a, b} and a != b
    assert rows[a]["linked_communities"] == [b] and rows[a]["link_edges"] == [1]
    assert rows[b]["linked_communities"] == [a] and rows[b]["link_edges"] == [1]
    assert rows[a]["top_categories"] == ["news"] == rows[b]["top_categories"]
    assert rows[a]["top_hashtags"] == []

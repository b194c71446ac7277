"""Ground-truth checks on planted-partition graphs: NMI, influencers in the top 1%, pymk recall."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from socialflywheel.graph.backends.base import Graph
from socialflywheel.graph.backends.networkit import NetworkitBackend
from socialflywheel.graph.evaluate import community_nmi, evaluate_pymk, influencers_in_top, recall_at_k
from socialflywheel.graph.pymk import Candidates, most_followed, people_you_may_know

SIZES = [120, 100, 90, 80, 60]


@pytest.fixture(scope="module")
def planted() -> tuple[Graph, np.ndarray, np.ndarray]:
    """A directed planted partition with 2 influencers per community that most members follow."""
    rng = np.random.default_rng(3)
    n_comm = len(SIZES)
    p = np.full((n_comm, n_comm), 0.004) + np.eye(n_comm) * 0.08
    G = nx.stochastic_block_model(SIZES, p.tolist(), directed=True, seed=5)
    block = np.array([G.nodes[v]["block"] for v in G], dtype=np.int64)
    src, dst = (np.array(x, dtype=np.int64) for x in zip(*G.edges(), strict=True))
    influencer = np.zeros(len(block), dtype=bool)
    extra_s, extra_d = [], []
    for c in range(n_comm):
        members = np.flatnonzero(block == c)
        stars = rng.choice(members, size=2, replace=False)
        influencer[stars] = True
        for star in stars:
            fans = members[rng.random(len(members)) < 0.5]
            extra_s.append(fans)
            extra_d.append(np.full(len(fans), star))
    graph = Graph.from_edges(np.concatenate([src, *extra_s]), np.concatenate([dst, *extra_d]), num_nodes=len(block))
    return graph, block, influencer


def test_leiden_recovers_planted_communities(planted: tuple[Graph, np.ndarray, np.ndarray]) -> None:
    graph, block, _ = planted
    result = NetworkitBackend(threads=2).communities(graph, seed=11)
    assert community_nmi(result.labels, block) >= 0.9


def test_influencers_rank_in_top_percent(planted: tuple[Graph, np.ndarray, np.ndarray]) -> None:
    graph, block, influencer = planted
    pr = NetworkitBackend(threads=2).pagerank(graph)
    check = influencers_in_top(pr, block, influencer, top_share=0.02)  # top 2 of 100 ~ the 2 planted stars
    assert check.influencers == 10 and check.fraction == 1.0
    shuffled = influencers_in_top(np.random.default_rng(0).random(len(pr)), block, influencer, top_share=0.02)
    assert shuffled.fraction < 0.5


def test_nmi_bounds() -> None:
    assert community_nmi([0, 0, 1, 1], [5, 5, 7, 7]) == pytest.approx(1.0)
    assert community_nmi([0, 1, 0, 1], [0, 0, 1, 1]) == pytest.approx(0.0, abs=1e-12)


def test_recall_at_k_counts_hits() -> None:
    cands = Candidates(np.array([0, 0, 1]), np.array([2, 3, 0]), np.array([3.0, 1.0, 1.0]), np.array([1, 2, 1]))
    assert recall_at_k(cands, np.array([0, 0, 1, 2]), np.array([3, 4, 0, 0]), k=2) == pytest.approx(0.5)
    assert recall_at_k(cands, np.array([0]), np.array([3]), k=1) == 0.0


def test_pymk_beats_most_followed_on_held_out_follows(planted: tuple[Graph, np.ndarray, np.ndarray]) -> None:
    graph, _, _ = planted
    rng = np.random.default_rng(8)
    held = rng.random(graph.num_edges) < 0.1
    train = Graph(graph.src[~held], graph.dst[~held], graph.weights[~held], graph.num_nodes)
    result = evaluate_pymk(
        people_you_may_know(train, k=20),
        most_followed(train, k=20),
        graph.src[held],
        graph.dst[held],
        k=20,
    )
    assert result.held_out == int(held.sum())
    assert result.beats_baseline, result


def test_evaluate_holdout_uses_the_held_out_follows() -> None:
    from datetime import UTC, datetime

    import pyarrow as pa

    from socialflywheel.graph.build import GraphInputs
    from socialflywheel.graph.evaluate import evaluate_holdout

    # 0->1, 0->2, 1->3, 2->3 kept; 0->3 (a friend of friends) held out.
    follows = Graph.from_edges(np.array([0, 0, 1, 2]), np.array([1, 2, 3, 3]), num_nodes=4)
    holdout = Graph.from_edges(np.array([0]), np.array([3]), num_nodes=4)
    empty = Graph.from_edges(np.zeros(0), np.zeros(0), num_nodes=4)
    inputs = GraphInputs(pa.array(list("abcd")), follows, empty, holdout, datetime(2026, 1, 1, tzinfo=UTC))
    result = evaluate_holdout(inputs, people_you_may_know(follows, k=1), k=1)
    assert result.recall == 1.0 and result.held_out == 1

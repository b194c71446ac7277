"""People you may know: hand-checked Adamic-Adar and Jaccard scores, exclusions, NetworkX agreement."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from socialflywheel.graph.backends.base import Graph
from socialflywheel.graph.pymk import Candidates, most_followed, people_you_may_know

# 0->1, 0->2, 1->3, 2->3, 2->4.  Undirected neighbourhoods: N0={1,2} N1={0,3} N2={0,3,4} N3={1,2} N4={2}.
FOLLOWS = Graph.from_edges(np.array([0, 0, 1, 2, 2]), np.array([1, 2, 3, 3, 4]), num_nodes=5)
LN2, LN3 = math.log(2), math.log(3)


def as_dict(c: Candidates) -> dict[int, list[tuple[int, float]]]:
    out: dict[int, list[tuple[int, float]]] = {}
    for u, v, s, r in zip(c.user.tolist(), c.candidate.tolist(), c.score.tolist(), c.rank.tolist(), strict=True):
        assert r == len(out.get(u, [])) + 1, "ranks run 1, 2, ... in order"
        out.setdefault(u, []).append((v, s))
    return out


def test_adamic_adar_hand_checked() -> None:
    got = as_dict(people_you_may_know(FOLLOWS, k=5, score="adamic_adar"))
    expected = {
        0: [(3, 1 / LN2 + 1 / LN3), (4, 1 / LN3)],  # 1 and 2 already followed
        1: [(2, 2 / LN2)],
        2: [(1, 2 / LN2)],  # 0 is a neighbour (0 follows 2) but shares no neighbour with 2
        3: [(0, 1 / LN2 + 1 / LN3), (4, 1 / LN3)],
        4: [(0, 1 / LN3), (3, 1 / LN3)],  # tie broken by candidate id
    }
    assert got.keys() == expected.keys()
    for user, rows in expected.items():
        assert [v for v, _ in got[user]] == [v for v, _ in rows]
        assert [s for _, s in got[user]] == pytest.approx([s for _, s in rows])


def test_jaccard_hand_checked() -> None:
    got = as_dict(people_you_may_know(FOLLOWS, k=5, score="jaccard"))
    assert got[0] == [(3, pytest.approx(1.0)), (4, pytest.approx(0.5))]
    assert got[4] == [(0, pytest.approx(0.5)), (3, pytest.approx(0.5))]


def test_existing_follows_and_self_are_excluded_and_k_is_kept() -> None:
    with_follow = Graph.from_edges(
        np.append(FOLLOWS.src, 0), np.append(FOLLOWS.dst, 3), num_nodes=5
    )  # 0 now follows 3, its best candidate
    got = as_dict(people_you_may_know(with_follow, k=5))
    assert 3 not in [v for v, _ in got[0]]
    assert all(u != v for u, rows in got.items() for v, _ in rows)
    assert all(len(rows) <= 1 for rows in as_dict(people_you_may_know(FOLLOWS, k=1)).values())


def test_matches_networkx_adamic_adar_on_random_graph() -> None:
    D = nx.gnp_random_graph(120, 0.04, directed=True, seed=9)
    e = np.array(D.edges())
    follows = Graph.from_edges(e[:, 0], e[:, 1], num_nodes=120)
    got = as_dict(people_you_may_know(follows, k=10, block_rows=17))  # several blocks
    U = nx.Graph(D.to_undirected())
    for u in range(120):
        pairs = [(u, v) for v in range(120) if v != u and not D.has_edge(u, v)]
        scores = sorted(((-round(s, 12), v) for _, v, s in nx.adamic_adar_index(U, pairs) if s > 0))[:10]
        assert [v for _, v in scores] == [v for v, _ in got.get(u, [])]
        assert [-s for s, _ in scores] == pytest.approx([s for _, s in got.get(u, [])])


def test_most_followed_baseline() -> None:
    base = as_dict(most_followed(FOLLOWS, k=2))
    # in-degrees: 3 has 2, then 1, 2, 4 with 1 each
    assert [v for v, _ in base[0]] == [3, 4]
    assert [v for v, _ in base[3]] == [1, 2]
    assert [v for v, _ in base[2]] == [1, 0]


@pytest.mark.parametrize("block_paths", [1, 50, 10**9])
@pytest.mark.parametrize("cap", [None, 3, 6])
def test_hub_cap_and_path_blocks_match_an_oracle(block_paths: int, cap: int | None) -> None:
    """Random graph plus two hubs (followed by a third of everyone): Adamic-Adar and Jaccard over the common
    neighbours whose degree is within the cap (every one when None), whatever the blocks' path budget."""
    D = nx.gnp_random_graph(90, 0.04, directed=True, seed=4)
    D.add_edges_from((u, hub) for hub in (0, 1) for u in range(2, 90, 3))
    e = np.array(D.edges())
    follows = Graph.from_edges(e[:, 0], e[:, 1], num_nodes=90)
    U = nx.Graph(D.to_undirected())
    counts = {x: U.degree(x) <= cap if cap is not None else True for x in U}
    kept = {x for x, ok in counts.items() if ok}
    for kind in ("adamic_adar", "jaccard"):
        got = as_dict(people_you_may_know(follows, k=8, score=kind, max_degree=cap, block_paths=block_paths))
        for u in range(90):
            want = []
            for v in range(90):
                if v == u or D.has_edge(u, v):
                    continue
                common = [x for x in nx.common_neighbors(U, u, v) if x in kept]
                if kind == "adamic_adar":
                    s = sum(1 / math.log(U.degree(x)) for x in common)
                else:
                    union = len(set(U[u]) & kept) + len(set(U[v]) & kept) - len(common)
                    s = len(common) / union if union else 0.0
                if s > 0:
                    want.append((-round(s, 12), v))
            want = sorted(want)[:8]
            assert [v for _, v in want] == [v for v, _ in got.get(u, [])], (kind, u)
            assert [-s for s, _ in want] == pytest.approx([s for _, s in got.get(u, [])])

"""Conversions between NetworkX graphs and the backends' COO ``Graph``."""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from socialflywheel.graph.backends.base import Graph


def to_coo(G: nx.Graph, *, weight: str | None = "weight") -> tuple[Graph, list[Any]]:
    """The NetworkX graph as a ``Graph`` over node positions, and the node order used."""
    nodes = list(G.nodes())
    index = {v: i for i, v in enumerate(nodes)}
    edges = list(G.edges(data=True))
    src = np.array([index[u] for u, _, _ in edges], dtype=np.int64)
    dst = np.array([index[v] for _, v, _ in edges], dtype=np.int64)
    w = np.array([float(d.get(weight, 1.0)) if weight else 1.0 for _, _, d in edges])
    return Graph.from_edges(src, dst, w, num_nodes=len(nodes), directed=G.is_directed()), nodes


def random_digraph_with_sinks(n: int, p: float, seed: int) -> nx.DiGraph:
    """A weighted G(n, p) digraph in which some nodes have no out-links and a few have no links at all."""
    rng = np.random.default_rng(seed)
    G = nx.gnp_random_graph(n, p, directed=True, seed=seed)
    sinks = rng.choice(n, size=max(2, n // 10), replace=False)
    G.remove_edges_from([e for e in list(G.edges()) if e[0] in set(sinks.tolist())])
    for u, v in G.edges():
        G[u][v]["weight"] = float(rng.uniform(0.1, 5.0))
    return G


def bundled_graphs() -> dict[str, nx.Graph]:
    """The graphs that ship with NetworkX used as oracles."""
    return {
        "karate": nx.karate_club_graph(),
        "les_miserables": nx.les_miserables_graph(),
        "florentine": nx.florentine_families_graph(),
        "davis": nx.davis_southern_women_graph(),
    }

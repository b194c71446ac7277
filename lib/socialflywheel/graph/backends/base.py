"""The graph handed to a backend (NumPy COO arrays) and the interface every backend implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Literal

import numpy as np

CommunityAlgorithm = Literal["leiden", "louvain"]


@dataclass(frozen=True)
class Graph:
    """A graph as coalesced COO arrays over contiguous node ids ``0 .. num_nodes - 1``.

    Build it with :meth:`from_edges`, which sums duplicate edges and drops self-loops; an
    undirected graph keeps each pair once with ``src < dst``.

    Attributes:
        src: edge sources (int64).
        dst: edge targets (int64).
        weights: edge weights (float64, positive).
        num_nodes: node count; ids without edges are isolated nodes.
        directed: whether ``(src, dst)`` is an arc or an undirected pair.
    """

    src: np.ndarray
    dst: np.ndarray
    weights: np.ndarray
    num_nodes: int
    directed: bool = True

    @classmethod
    def from_edges(
        cls,
        src: np.ndarray,
        dst: np.ndarray,
        weights: np.ndarray | None = None,
        *,
        num_nodes: int | None = None,
        directed: bool = True,
    ) -> Graph:
        """Coalesce an edge list: duplicates summed, self-loops dropped, pairs canonical if undirected.

        Args:
            src: edge sources.
            dst: edge targets.
            weights: edge weights; 1.0 each when None.
            num_nodes: node count; ``max id + 1`` when None.
            directed: build a directed graph (else undirected, weights of both directions summed).
        """
        s = np.asarray(src, dtype=np.int64)
        d = np.asarray(dst, dtype=np.int64)
        w = np.ones(len(s)) if weights is None else np.asarray(weights, dtype=np.float64)
        if not (len(s) == len(d) == len(w)):
            raise ValueError("src, dst and weights must have the same length")
        n = int(num_nodes) if num_nodes is not None else (int(max(s.max(), d.max())) + 1 if len(s) else 0)
        if len(s) and (min(s.min(), d.min()) < 0 or max(s.max(), d.max()) >= n):
            raise ValueError(f"edge ids must lie in [0, {n})")
        keep = s != d
        s, d, w = s[keep], d[keep], w[keep]
        if not directed:
            s, d = np.minimum(s, d), np.maximum(s, d)
        key = s * max(n, 1) + d
        uniq, inverse = np.unique(key, return_inverse=True)
        summed = np.bincount(inverse, weights=w, minlength=len(uniq)) if len(uniq) else np.zeros(0)
        return cls(uniq // max(n, 1), uniq % max(n, 1), summed.astype(np.float64), n, directed)

    @property
    def num_edges(self) -> int:
        """Number of (coalesced) edges."""
        return len(self.src)

    @property
    def is_weighted(self) -> bool:
        """Whether any edge weight differs from 1."""
        return bool(len(self.weights)) and not bool(np.all(self.weights == 1.0))

    def symmetrized(self) -> Graph:
        """The undirected graph: one edge per connected pair, weights of both directions summed."""
        if not self.directed:
            return self
        return Graph.from_edges(self.src, self.dst, self.weights, num_nodes=self.num_nodes, directed=False)


@dataclass(frozen=True)
class Degrees:
    """Per-node degrees; for an undirected graph in and out are both the degree."""

    in_degree: np.ndarray
    out_degree: np.ndarray
    in_weight: np.ndarray
    out_weight: np.ndarray


@dataclass(frozen=True)
class Communities:
    """A partition of the symmetrized graph and its modularity."""

    labels: np.ndarray
    modularity: float
    algorithm: str


@dataclass(frozen=True)
class Triangles:
    """Triangles through each node and its local clustering coefficient (undirected, unweighted)."""

    triangles: np.ndarray
    clustering: np.ndarray


def canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Renumber a partition so that labels are 0, 1, ... by decreasing size, ties by smallest node id.

    Two backends that find the same partition therefore return identical arrays.
    """
    labels = np.asarray(labels)
    if not len(labels):
        return labels.astype(np.int64)
    uniq, first, inverse, counts = np.unique(labels, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -counts))
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    return rank[inverse]


def modularity(graph: Graph, labels: np.ndarray, *, resolution: float = 1.0) -> float:
    """Newman modularity of ``labels`` on the symmetrized, weighted graph (computed here, not by a backend).

    Args:
        graph: any graph; directed ones are symmetrized with weights summed.
        labels: community per node.
        resolution: the gamma of generalized modularity.
    """
    g = graph.symmetrized()
    m = float(g.weights.sum())
    if m == 0:
        return 0.0
    labels = np.asarray(labels)
    strength = np.bincount(g.src, weights=g.weights, minlength=g.num_nodes) + np.bincount(
        g.dst, weights=g.weights, minlength=g.num_nodes
    )
    _, comm = np.unique(labels, return_inverse=True)
    intra = comm[g.src] == comm[g.dst]
    inside = np.bincount(comm[g.src[intra]], weights=g.weights[intra], minlength=comm.max() + 1)
    total = np.bincount(comm, weights=strength, minlength=comm.max() + 1)
    return float(inside.sum() / m - resolution * np.sum((total / (2 * m)) ** 2))


class GraphBackend(abc.ABC):
    """What a graph backend computes; every result is indexed by node id.

    Conventions shared by all backends (so outputs are identical): PageRank distributes the
    rank of sinks uniformly (as NetworkX does) and sums to 1; k-core, triangles, clustering and
    communities use the symmetrized simple graph; betweenness is normalized as NetworkX does
    and exact when ``samples >= num_nodes``; partitions are returned in :func:`canonical_labels` form.
    """

    name: str = "base"

    def degrees(self, graph: Graph) -> Degrees:
        """In/out degree (distinct neighbours) and weighted in/out degree."""
        n = graph.num_nodes
        out_d = np.bincount(graph.src, minlength=n).astype(np.int64)
        in_d = np.bincount(graph.dst, minlength=n).astype(np.int64)
        out_w = np.bincount(graph.src, weights=graph.weights, minlength=n)
        in_w = np.bincount(graph.dst, weights=graph.weights, minlength=n)
        if not graph.directed:
            return Degrees(in_d + out_d, in_d + out_d, in_w + out_w, in_w + out_w)
        return Degrees(in_d, out_d, in_w, out_w)

    @abc.abstractmethod
    def pagerank(self, graph: Graph, *, damping: float = 0.85, tol: float = 1e-10, max_iter: int = 1000) -> np.ndarray:
        """Weighted PageRank with sink rank redistributed uniformly; sums to 1."""

    @abc.abstractmethod
    def core_number(self, graph: Graph) -> np.ndarray:
        """k-core number of each node in the symmetrized simple graph."""

    @abc.abstractmethod
    def betweenness(self, graph: Graph, *, samples: int, seed: int) -> np.ndarray:
        """Normalized shortest-path betweenness (unweighted), estimated from ``samples`` sources."""

    @abc.abstractmethod
    def communities(
        self, graph: Graph, *, algorithm: CommunityAlgorithm = "leiden", seed: int = 0, restarts: int = 1
    ) -> Communities:
        """Modularity communities of the symmetrized graph (weights summed); best of ``restarts`` seeds."""

    @abc.abstractmethod
    def weakly_connected_components(self, graph: Graph) -> np.ndarray:
        """Component label per node, in canonical form."""

    @abc.abstractmethod
    def triangles(self, graph: Graph) -> Triangles:
        """Triangles through each node and local clustering of the symmetrized simple graph."""


def clustering_from_triangles(triangles: np.ndarray, degree: np.ndarray) -> np.ndarray:
    """Local clustering ``2 T / (d (d - 1))``, 0 where the degree is below 2."""
    d = degree.astype(np.float64)
    denom = d * (d - 1)
    out = np.zeros(len(d))
    np.divide(2.0 * triangles, denom, out=out, where=denom > 0)
    return out

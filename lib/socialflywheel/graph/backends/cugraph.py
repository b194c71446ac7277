"""The GPU backend: RAPIDS cuGraph on one GPU, or cuGraph's Dask API across GPUs.

Written against cuGraph's documented Python API (``cugraph.pagerank``, ``cugraph.leiden``,
``cugraph.louvain``, ``cugraph.core_number``, ``cugraph.betweenness_centrality``,
``cugraph.weakly_connected_components``, ``cugraph.triangle_count`` and their ``cugraph.dask``
counterparts). RAPIDS is imported only when the backend is constructed, so the package imports
on a machine without it. Node ids are already contiguous, so graphs are built with
``renumber=False`` and results are scattered back into dense NumPy arrays by vertex id.
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from socialflywheel.graph.backends.base import (
    Communities,
    CommunityAlgorithm,
    Graph,
    GraphBackend,
    Triangles,
    canonical_labels,
    clustering_from_triangles,
    modularity,
)

if TYPE_CHECKING:
    import cudf
    import cugraph
    import dask_cudf
    from dask.distributed import Client

log = logging.getLogger(__name__)


class CugraphBackend(GraphBackend):
    """Graph algorithms on cuGraph; multi-GPU through ``cugraph.dask`` when a Dask client is given.

    Args:
        dask_client: a ``dask.distributed.Client`` over GPU workers (``dask_cuda.LocalCUDACluster`` or a
            cluster); None runs single-GPU.
        partitions: Dask partitions of the edge list; default one per worker.
    """

    name = "cugraph"

    def __init__(self, *, dask_client: Client | None = None, partitions: int | None = None) -> None:
        import cudf
        import cugraph

        self._cudf: ModuleType = cudf
        self._cugraph: ModuleType = cugraph
        self._client = dask_client
        self._partitions = partitions
        if dask_client is not None:
            import cugraph.dask as dask_cugraph
            import cugraph.dask.comms.comms as comms
            import dask_cudf

            self._dask_cugraph: ModuleType = dask_cugraph
            self._dask_cudf: ModuleType = dask_cudf
            comms.initialize(p2p=True)
            self.name = "cugraph-dask"

    @property
    def multi_gpu(self) -> bool:
        """Whether the Dask (multi-GPU) API is used."""
        return self._client is not None

    # Graph construction --------------------------------------------------------------------------
    def _edges(self, graph: Graph) -> cudf.DataFrame:
        return self._cudf.DataFrame({"src": graph.src, "dst": graph.dst, "weight": graph.weights})

    def _build(self, graph: Graph, *, undirected: bool = False, weighted: bool = True) -> cugraph.Graph:
        g = graph.symmetrized() if undirected else graph
        cg = self._cugraph.Graph(directed=g.directed)
        edges = self._edges(g)
        attr = "weight" if weighted else None
        if self._client is not None:  # multi-GPU
            parts = self._partitions or max(1, len(self._client.scheduler_info()["workers"]))
            ddf = self._dask_cudf.from_cudf(edges, npartitions=parts)
            cg.from_dask_cudf_edgelist(ddf, source="src", destination="dst", edge_attr=attr, renumber=False)
        else:
            cg.from_cudf_edgelist(edges, source="src", destination="dst", edge_attr=attr, renumber=False)
        return cg

    def _dense(
        self,
        frame: cudf.DataFrame | dask_cudf.DataFrame,
        column: str,
        n: int,
        *,
        fill: float = 0.0,
        dtype: npt.DTypeLike = np.float64,
    ) -> np.ndarray:
        """Scatter a (vertex, value) result into a dense array; vertices without edges get ``fill``."""
        if self.multi_gpu:
            frame = frame.compute()
        out = np.full(n, fill, dtype=dtype)
        vertex = frame["vertex"].to_numpy()
        keep = vertex < n
        out[vertex[keep]] = frame[column].to_numpy()[keep]
        return out

    def _api(self) -> ModuleType:
        return self._dask_cugraph if self.multi_gpu else self._cugraph

    # Algorithms --------------------------------------------------------------------------------
    def pagerank(self, graph: Graph, *, damping: float = 0.85, tol: float = 1e-10, max_iter: int = 1000) -> np.ndarray:
        """PageRank on cuGraph (sinks distributed uniformly, as in NetworkX); isolated trailing ids filled in."""
        n = graph.num_nodes
        if n == 0:
            return np.zeros(0)
        if graph.num_edges == 0:
            return np.full(n, 1.0 / n)
        result = self._api().pagerank(self._build(graph), alpha=damping, tol=tol, max_iter=max_iter)
        scores = self._dense(result, "pagerank", n, fill=np.nan)
        # Ids past the largest edge endpoint are absent from a renumber=False graph: they are sinks
        # with no in-links, whose rank is the teleport share plus the spread sink mass; renormalize.
        missing = np.isnan(scores)
        if missing.any():
            scores[missing] = (1.0 - damping) / n
        normalized: np.ndarray = scores / scores.sum()
        return normalized

    def core_number(self, graph: Graph) -> np.ndarray:
        """k-core number of each node on cuGraph (symmetrized, unweighted)."""
        n = graph.num_nodes
        if graph.num_edges == 0:
            return np.zeros(n, dtype=np.int64)
        result = self._api().core_number(self._build(graph, undirected=True, weighted=False))
        return self._dense(result, "core_number", n, dtype=np.int64)

    def betweenness(self, graph: Graph, *, samples: int, seed: int) -> np.ndarray:
        """Normalized unweighted betweenness on cuGraph, from ``samples`` seeded sources (all when fewer nodes)."""
        n = graph.num_nodes
        if n < 3 or graph.num_edges == 0:
            return np.zeros(n)
        k = None if samples >= n else samples
        result = self._api().betweenness_centrality(
            self._build(graph, weighted=False), k=k, normalized=True, random_state=seed
        )
        return self._dense(result, "betweenness_centrality", n)

    def communities(
        self, graph: Graph, *, algorithm: CommunityAlgorithm = "leiden", seed: int = 0, restarts: int = 1
    ) -> Communities:
        """Leiden (seeded with ``random_state``) or Louvain on cuGraph over the symmetrized graph; best of restarts."""
        sym = graph.symmetrized()
        n = sym.num_nodes
        if sym.num_edges == 0:
            labels = np.arange(n, dtype=np.int64)
            return Communities(labels, modularity(sym, labels), algorithm)
        cg = self._build(sym)
        api = self._api()
        best: np.ndarray | None = None
        best_q = -np.inf
        for run in range(max(1, restarts)):
            if algorithm == "leiden":
                parts, _ = api.leiden(cg, max_iter=100, resolution=1.0, random_state=seed + run)
            elif algorithm == "louvain":
                parts, _ = api.louvain(cg, max_level=100, resolution=1.0)
            else:
                raise ValueError(f"unknown community algorithm {algorithm!r}")
            raw = self._dense(parts, "partition", n, fill=-1, dtype=np.int64)
            isolated = raw < 0
            raw[isolated] = raw.max() + 1 + np.arange(int(isolated.sum()))
            labels = canonical_labels(raw)
            q = modularity(sym, labels)
            if q > best_q:
                best, best_q = labels, q
        assert best is not None
        return Communities(best, float(best_q), algorithm)

    def weakly_connected_components(self, graph: Graph) -> np.ndarray:
        """Canonical component labels on cuGraph; isolated nodes get components of their own."""
        n = graph.num_nodes
        if graph.num_edges == 0:
            return np.arange(n, dtype=np.int64)
        result = self._api().weakly_connected_components(self._build(graph, undirected=True, weighted=False))
        raw = self._dense(result, "labels", n, fill=-1, dtype=np.int64)
        isolated = raw < 0
        raw[isolated] = raw.max() + 1 + np.arange(int(isolated.sum()))
        return canonical_labels(raw)

    def triangles(self, graph: Graph) -> Triangles:
        """Triangle counts from cuGraph and the local clustering derived from them."""
        sym = graph.symmetrized()
        n = sym.num_nodes
        degree = np.bincount(sym.src, minlength=n) + np.bincount(sym.dst, minlength=n)
        if sym.num_edges == 0:
            return Triangles(np.zeros(n, dtype=np.int64), np.zeros(n))
        result = self._api().triangle_count(self._build(sym, weighted=False))
        tri = self._dense(result, "counts", n, dtype=np.int64)
        return Triangles(tri, clustering_from_triangles(tri, degree))

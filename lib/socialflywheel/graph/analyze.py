"""Run every graph algorithm on a backend and shape the results as the gold tables (Arrow)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa

from socialflywheel import progress
from socialflywheel.config.graph import GraphConfig
from socialflywheel.graph.backends.base import Communities, Graph, GraphBackend
from socialflywheel.graph.build import GraphInputs
from socialflywheel.graph.pymk import Candidates, people_you_may_know
from socialflywheel.graph.tables import GRAPH_CENTRALITY, GRAPH_COMMUNITIES, PEOPLE_YOU_MAY_KNOW

log = logging.getLogger(__name__)

_T = TypeVar("_T")


@dataclass
class GraphResults:
    """Per-node arrays (index = node id), the partition and the candidates, with seconds per step."""

    pagerank: np.ndarray
    engagement_pagerank: np.ndarray
    in_degree: np.ndarray
    out_degree: np.ndarray
    engagement_in: np.ndarray
    engagement_out: np.ndarray
    core_number: np.ndarray
    betweenness: np.ndarray | None
    triangles: np.ndarray
    clustering: np.ndarray
    component: np.ndarray
    communities: Communities
    candidates: Candidates
    no_partition: str | None = None
    """Why ``communities`` is no partition (every person alone in it), None when it is one."""
    seconds: dict[str, float] = field(default_factory=dict)


def community_graph(inputs: GraphInputs, which: str) -> Graph:
    """The graph partitioned into communities: follows, engagement, or both summed.

    ``follows`` is the engagement counts when there are no follows (:attr:`GraphInputs.social`).
    """
    if which == "follows":
        return inputs.social
    if which == "engagement":
        return inputs.engagement
    f, e = inputs.social, inputs.engagement
    return Graph.from_edges(
        np.concatenate([f.src, e.src]),
        np.concatenate([f.dst, e.dst]),
        np.concatenate([f.weights, e.weights]),
        num_nodes=inputs.num_nodes,
    )


def no_partition_reason(graph: Graph, communities: Communities, *, name: str) -> str | None:
    """Why a partition of ``graph`` is none (every community a single person), or None when it is a partition."""
    if graph.num_edges == 0:
        return f"the {name} graph links no two people, so every person would be a community of one"
    if len(communities.labels) and np.bincount(communities.labels).max() < 2:
        return f"every community of the {name} graph has one member"
    return None


def algorithm_count(cfg: GraphConfig) -> int:
    """How many algorithms :func:`analyze` runs (betweenness only with ``betweenness_samples``)."""
    return 8 + bool(cfg.betweenness_samples)


def analyze(
    inputs: GraphInputs, backend: GraphBackend, cfg: GraphConfig, bar: progress.Task | None = None
) -> GraphResults:
    """Run PageRank, degrees, k-core, betweenness, communities, components, triangles and pymk.

    Args:
        inputs: the graphs, from :func:`socialflywheel.graph.build.build_graph_inputs`.
        backend: a graph backend (see :func:`socialflywheel.graph.select.select_backend`).
        cfg: the ``graph`` config section.
        bar: progress, one unit per algorithm (:func:`algorithm_count` of them).
    """
    seconds: dict[str, float] = {}
    out: dict[str, Any] = {}

    def timed(name: str, fn: Callable[[], _T]) -> _T:
        if bar is not None:
            bar.describe(f"graph: {name}")
        start = time.perf_counter()
        value = fn()
        seconds[name] = round(time.perf_counter() - start, 4)
        log.info("graph %s: %.3f s", name, seconds[name])
        if bar is not None:
            bar.advance()
        return value

    # Without follows, the follow-graph algorithms run on the engagement counts (GraphInputs.social).
    social, engagement = inputs.social, inputs.engagement

    def pagerank(graph: Graph) -> np.ndarray:
        return backend.pagerank(
            graph, damping=cfg.pagerank_damping, tol=cfg.pagerank_tol, max_iter=cfg.pagerank_max_iter
        )

    out["pagerank"] = timed("pagerank", lambda: pagerank(social))
    out["engagement_pagerank"] = timed("engagement_pagerank", lambda: pagerank(engagement))
    deg = timed("degrees", lambda: backend.degrees(social))
    eng = backend.degrees(engagement)
    out["core_number"] = timed("core_number", lambda: backend.core_number(social))
    out["betweenness"] = (
        timed("betweenness", lambda: backend.betweenness(social, samples=cfg.betweenness_samples, seed=cfg.seed))
        if cfg.betweenness_samples
        else None
    )
    part = community_graph(inputs, cfg.community_graph)
    out["communities"] = timed(
        cfg.community_algorithm,
        lambda: backend.communities(
            part, algorithm=cfg.community_algorithm, seed=cfg.seed, restarts=cfg.community_restarts
        ),
    )
    part_name = inputs.graph if cfg.community_graph == "follows" else cfg.community_graph
    out["no_partition"] = no_partition_reason(part, out["communities"], name=part_name)
    out["component"] = timed("weakly_connected_components", lambda: backend.weakly_connected_components(social))
    tri = timed("triangles", lambda: backend.triangles(social))
    out["candidates"] = timed(
        "people_you_may_know",
        lambda: people_you_may_know(social, k=cfg.pymk_k, score=cfg.pymk_score, max_degree=cfg.pymk_max_degree),
    )
    return GraphResults(
        in_degree=deg.in_degree,
        out_degree=deg.out_degree,
        engagement_in=eng.in_weight,
        engagement_out=eng.out_weight,
        triangles=tri.triangles,
        clustering=tri.clustering,
        seconds=seconds,
        **out,
    )


def rank_within(groups: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """1-based rank of each node by decreasing score inside its group (ties by node id)."""
    n = len(groups)
    order = np.lexsort((np.arange(n), -scores, groups))
    sorted_groups = groups[order]
    first = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - first + 1
    return rank


def _column(values: object, dtype: pa.DataType) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(dtype)
    return pa.array(values, dtype)


def _arrow(cols: dict[str, Any], schema: pa.Schema) -> pa.Table:
    """The rows as an Arrow table of the catalog schema (the table's declared types, UTC timestamps)."""
    return pa.table([_column(cols[f.name], f.type) for f in schema], schema=schema)


def centrality_table(inputs: GraphInputs, res: GraphResults, *, backend: str) -> pa.Table:
    """Rows of gold.graph_centrality, one per node."""
    n = inputs.num_nodes
    labels = res.communities.labels
    # No partition: nobody has a community (null), rather than a community of one each.
    community = pa.nulls(n, pa.int64()) if res.no_partition else labels
    rank = pa.nulls(n, pa.int64()) if res.no_partition else rank_within(labels, res.pagerank)
    cols: dict[str, Any] = {
        "user_id": inputs.user_ids,
        "pagerank": res.pagerank,
        "engagement_pagerank": res.engagement_pagerank,
        "in_degree": res.in_degree,
        "out_degree": res.out_degree,
        "engagement_in": res.engagement_in,
        "engagement_out": res.engagement_out,
        "core_number": res.core_number,
        "betweenness": pa.nulls(n, pa.float64()) if res.betweenness is None else res.betweenness,
        "triangles": res.triangles,
        "clustering": res.clustering,
        "component": res.component,
        "community": community,
        "rank_in_community": rank,
        "backend": [backend] * n,
        "as_of": [inputs.as_of] * n,
    }
    return _arrow(cols, GRAPH_CENTRALITY.schema)


def communities_table(inputs: GraphInputs, res: GraphResults, *, backend: str, top: int) -> pa.Table:
    """Rows of gold.graph_communities: size, modularity and top influencers of each community (none if no partition)."""
    labels = res.communities.labels
    if res.no_partition:
        return GRAPH_COMMUNITIES.schema.empty_table()
    sizes = np.bincount(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    rank = rank_within(labels, res.pagerank)
    leaders = np.flatnonzero(rank <= top)
    leaders = leaders[np.lexsort((rank[leaders], labels[leaders]))]
    names = inputs.user_ids.take(pa.array(leaders, pa.int64())).to_pylist()
    top_lists: list[list[str]] = [[] for _ in range(len(sizes))]
    for node, name in zip(leaders.tolist(), names, strict=True):
        top_lists[int(labels[node])].append(name)
    k = len(sizes)
    cols: dict[str, Any] = {
        "community": np.arange(k),
        "size": sizes,
        "modularity": [res.communities.modularity] * k,
        "algorithm": [res.communities.algorithm] * k,
        "top_influencers": top_lists,
        "backend": [backend] * k,
        "as_of": [inputs.as_of] * k,
    }
    return _arrow(cols, GRAPH_COMMUNITIES.schema)


def pymk_table(inputs: GraphInputs, res: GraphResults, *, score_kind: str) -> pa.Table:
    """Rows of gold.people_you_may_know."""
    c = res.candidates
    m = len(c)
    cols: dict[str, Any] = {
        "user_id": inputs.user_ids.take(pa.array(c.user, pa.int64())),
        "candidate_id": inputs.user_ids.take(pa.array(c.candidate, pa.int64())),
        "score": c.score,
        "rank": c.rank,
        "score_kind": [score_kind] * m,
        "as_of": [inputs.as_of] * m,
    }
    return _arrow(cols, PEOPLE_YOU_MAY_KNOW.schema)

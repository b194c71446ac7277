"""The graph job: silver -> graphs -> backend -> gold.graph_centrality, graph_communities, people_you_may_know."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from socialflywheel import progress
from socialflywheel.features.risk import risky_accounts
from socialflywheel.graph.analyze import (
    GraphResults,
    algorithm_count,
    analyze,
    centrality_table,
    communities_table,
    pymk_table,
)
from socialflywheel.graph.build import GraphInputs, SocialGraph, build_graph_inputs
from socialflywheel.graph.community_graph import community_graph_table, community_links, community_topics
from socialflywheel.graph.evaluate import PymkEvaluation, evaluate_holdout
from socialflywheel.graph.select import cugraph_importable, select_backend
from socialflywheel.lake.catalog import table
from socialflywheel.lake.staged import arrow_frame
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from dask.distributed import Client
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.config.graph import GraphConfig
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)


def _dask_client(gcfg: GraphConfig) -> Client | None:
    """A Dask client for multi-GPU cuGraph when a scheduler is configured and cuGraph can run."""
    if not gcfg.dask_scheduler or gcfg.backend == "networkit" or not cugraph_importable()[0]:
        return None
    from dask.distributed import Client

    log.info("graph: multi-GPU cuGraph through the Dask scheduler at %s", gcfg.dask_scheduler)
    return Client(gcfg.dask_scheduler)


@contextmanager
def _frame(spark: SparkSession, lake: Lake, data: pa.Table, name: str) -> Iterator[DataFrame]:
    if data.num_rows == 0:
        yield spark.createDataFrame([], table(name).ddl)
        return
    with arrow_frame(spark, lake, data) as frame:  # staged when too large for the plan (5M people at 100M events)
        yield frame


@dataclass(kw_only=True)
class GraphResult(JobResult):
    """A graph run: the graphs' sizes, the partition found and the seconds of every step."""

    backend: str
    """networkit or cugraph."""
    graph: SocialGraph
    """The graph centrality, communities and people-you-may-know ran on: ``follows``, or ``engagement`` (people
    linked by liking, sharing, commenting or clicking each other's posts, weighted by count) when there are none."""
    nodes: int
    follow_edges: int
    engagement_edges: int
    held_out_follows: int
    """Follow edges of the last ``graph.holdout_days`` kept out to evaluate people-you-may-know."""
    communities: int
    """Rows of gold.graph_communities: 0 when the partition is none (see ``no_communities``)."""
    modularity: float | None
    """None when no partition was found."""
    no_communities: str | None
    """Why gold.graph_communities has no rows (nobody linked to anybody: one community per person); None otherwise."""
    algorithm: str
    excluded_risky: bool
    """Whether accounts flagged by gold.account_risk were left out."""
    as_of: str
    """The newest event time the graphs saw (ISO)."""
    seconds: dict[str, float] = field(default_factory=dict)
    """Seconds per step (build, each algorithm, write)."""
    rows_written: dict[str, int] = field(default_factory=dict)
    total_seconds: float = 0.0
    pymk_recall: float | None = None
    """People-you-may-know Recall@``graph.pymk_k`` on the held-out follows (gold.pymk_quality); None: no holdout."""
    pymk_baseline_recall: float | None = None
    """The most-followed baseline's, on the same follows."""


def run_graph(spark: SparkSession, lake: Lake, gcfg: GraphConfig, *, exclude: DataFrame | None = None) -> GraphResult:
    """Build the follow and engagement graphs, run the configured backend, overwrite the graph gold tables.

    Args:
        spark: the session.
        lake: the lake the silver tables are read from and the gold tables written to.
        gcfg: the ``graph`` section (backend, algorithms and their parameters, its own seed).
        exclude: user ids (column ``user_id``) to leave out; default: accounts above
            ``graph.risk_threshold`` in gold.account_risk when that table exists.

    Returns:
        Backend, nodes, edges, communities, modularity, seconds per step, rows in and out.
    """
    start = time.perf_counter()
    follows = lake.read(spark, "silver.follows")
    events = lake.read(spark, "silver.events")
    posts = lake.read(spark, "silver.posts")
    if exclude is None:
        exclude = risky_accounts(spark, lake, threshold=gcfg.risk_threshold)
    inputs = build_graph_inputs(
        follows,
        events,
        posts,
        half_life_days=gcfg.engagement_half_life_days,
        event_types=gcfg.engagement_events,
        holdout_days=gcfg.holdout_days,
        lake=lake,
        exclude=exclude,
    )
    build_s = time.perf_counter() - start
    log.info(
        "graph: %d nodes, %d follow edges, %d engagement edges, %d held out (%.1f s)",
        inputs.num_nodes,
        inputs.follows.num_edges,
        inputs.engagement.num_edges,
        inputs.holdout.num_edges,
        build_s,
    )
    if inputs.graph == "engagement":
        log.warning(
            "graph: no follow edges; centrality, communities and people-you-may-know use the engagement graph instead "
            "(%d pairs of people linked by like/share/comment/click, weighted by count)",
            inputs.social.num_edges,
        )
    backend = select_backend(
        gcfg.backend, threads=gcfg.threads, leiden_iterations=gcfg.leiden_iterations, dask_client=_dask_client(gcfg)
    )
    with progress.task(f"graph ({backend.name})", total=algorithm_count(gcfg), unit="algorithms") as bar:
        results = analyze(inputs, backend, gcfg, bar)
    if results.no_partition:
        log.warning(
            "graph: no communities written: %s (gold.graph_communities left empty, graph_centrality.community null)",
            results.no_partition,
        )
    outputs = {
        "gold.graph_centrality": centrality_table(inputs, results, backend=backend.name),
        "gold.graph_communities": communities_table(inputs, results, backend=backend.name, top=gcfg.top_influencers),
        "gold.people_you_may_know": pymk_table(inputs, results, score_kind=gcfg.pymk_score),
    }
    shown = outputs["gold.graph_communities"].num_rows
    outputs["gold.community_graph"] = _community_graph(spark, lake, inputs, results, events, posts, shown)
    write_start = time.perf_counter()
    for name, data in outputs.items():
        with _frame(spark, lake, data, name) as frame:
            lake.overwrite(frame, name)
    quality = _pymk_quality(spark, lake, inputs, results, gcfg) if inputs.holdout.num_edges else None
    seconds = {"build": round(build_s, 3), **results.seconds, "write": round(time.perf_counter() - write_start, 3)}
    return GraphResult(
        backend=backend.name,
        graph=inputs.graph,
        nodes=inputs.num_nodes,
        follow_edges=inputs.follows.num_edges,
        engagement_edges=inputs.engagement.num_edges,
        held_out_follows=inputs.holdout.num_edges,
        communities=outputs["gold.graph_communities"].num_rows,
        modularity=None if results.no_partition else float(results.communities.modularity),
        no_communities=results.no_partition,
        algorithm=results.communities.algorithm,
        excluded_risky=exclude is not None,
        as_of=inputs.as_of.isoformat(),
        seconds=seconds,
        rows_in=inputs.follows.num_edges + inputs.engagement.num_edges + inputs.holdout.num_edges,
        rows_out=sum(data.num_rows for data in outputs.values()),
        rows_written={name: data.num_rows for name, data in outputs.items()},
        total_seconds=round(time.perf_counter() - start, 3),
        pymk_recall=quality.recall if quality else None,
        pymk_baseline_recall=quality.baseline_recall if quality else None,
    )


def _community_graph(
    spark: SparkSession,
    lake: Lake,
    inputs: GraphInputs,
    results: GraphResults,
    events: DataFrame,
    posts: DataFrame,
    communities: int,
) -> pa.Table:
    """Rows of gold.community_graph: each community's topics and links (none when there is no partition)."""
    if not communities:
        return community_graph_table(0, {}, {}, inputs.as_of)
    labels = pa.array(results.communities.labels, pa.int64())
    members = pa.table({"user_id": inputs.user_ids, "community": labels})
    with arrow_frame(spark, lake, members) as frame:
        topics = community_topics(frame, events, posts)
    return community_graph_table(communities, community_links(inputs, results), topics, inputs.as_of)


def _pymk_quality(
    spark: SparkSession, lake: Lake, inputs: GraphInputs, results: GraphResults, gcfg: GraphConfig
) -> PymkEvaluation:
    """Recall@k of people-you-may-know and of the most-followed baseline on the held-out follows, kept per run."""
    quality = evaluate_holdout(inputs, results.candidates, k=gcfg.pymk_k)
    row = pa.table(
        {
            "as_of": pa.array([inputs.as_of], pa.timestamp("us", tz="UTC")),
            "holdout_days": pa.array([gcfg.holdout_days], pa.int64()),
            "k": pa.array([quality.k], pa.int64()),
            "graph": [inputs.graph],
            "held_out_follows": pa.array([quality.held_out], pa.int64()),
            "recall": [quality.recall],
            "baseline_recall": [quality.baseline_recall],
            "evaluated_at": pa.array([dt.datetime.now(dt.UTC)], pa.timestamp("us", tz="UTC")),
        }
    )
    with _frame(spark, lake, row, "gold.pymk_quality") as frame:  # a re-run of the same cut replaces its row
        lake.merge(spark, frame, "gold.pymk_quality", when_matched="update")
    log.info(
        "graph: people-you-may-know Recall@%d %.4f on %d held-out follows (most-followed %.4f)",
        quality.k,
        quality.recall,
        quality.held_out,
        quality.baseline_recall,
    )
    return quality

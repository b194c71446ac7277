"""Spark side of the graph job: silver tables -> follow and engagement edge lists over contiguous ids.

Ids are made contiguous with ``dense_rank`` over the union of every user id an edge mentions (Sail
has no ``.rdd``, so no ``zipWithIndex``); edge lists leave Spark through Arrow (``toArrow``). The
functions here are pure DataFrame transforms except :func:`build_graph_inputs`, which collects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa

from socialflywheel.graph.backends.base import Graph
from socialflywheel.lake.catalog import ENGAGEMENT_TYPES, spark_ddl

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from socialflywheel.lake.io import Lake

SocialGraph = Literal["follows", "engagement"]


@dataclass(frozen=True)
class GraphInputs:
    """What the backends see: both graphs over one id space, plus the held-out follows.

    Attributes:
        user_ids: pseudonymized user id of each node id (string array, index = node id).
        follows: directed follow graph (``src`` follows ``dst``), weight 1 per follow.
        engagement: directed engagement graph (``src`` engaged with ``dst``'s posts), decayed weights.
        holdout: follows newer than the cutoff, left out of ``follows`` (empty without a holdout).
        as_of: reference time of the decay and the holdout (latest event or follow seen).
        interactions: built only when ``follows`` has no edges (a source without follow events: a Twitter or
            Reddit dump): ``src`` engaged with ``dst``'s posts, weight = number of like/share/comment/click events
            (no decay, views left out); the follow-graph algorithms then run on it (:attr:`social`).
    """

    user_ids: pa.Array
    follows: Graph
    engagement: Graph
    holdout: Graph
    as_of: datetime
    interactions: Graph | None = None

    @property
    def num_nodes(self) -> int:
        """Number of users, i.e. of graph nodes."""
        return len(self.user_ids)

    @property
    def graph(self) -> SocialGraph:
        """Which graph centrality, communities and people-you-may-know run on: ``follows`` or ``engagement``."""
        return "follows" if self.interactions is None else "engagement"

    @property
    def social(self) -> Graph:
        """The graph centrality, communities and people-you-may-know run on (see :attr:`graph`)."""
        return self.follows if self.interactions is None else self.interactions


def reference_time(events: DataFrame, follows: DataFrame) -> datetime | None:
    """The latest event or follow timestamp (UTC): the run's deterministic "now"."""
    from pyspark.sql import functions as F

    row_e = events.agg(F.max("ts").alias("m")).collect()[0]["m"]
    row_f = follows.agg(F.max("since").alias("m")).collect()[0]["m"]
    seen = [t for t in (row_e, row_f) if t is not None]
    if not seen:
        return None
    latest: datetime = max(t if t.tzinfo else t.replace(tzinfo=UTC) for t in seen)
    return latest.astimezone(UTC)


def _drop_excluded(edges: DataFrame, exclude: DataFrame | None) -> DataFrame:
    if exclude is None:
        return edges
    ids = exclude.select("user_id").distinct()
    edges = edges.join(ids.withColumnRenamed("user_id", "src_user"), on="src_user", how="left_anti")
    return edges.join(ids.withColumnRenamed("user_id", "dst_user"), on="dst_user", how="left_anti")


def follow_edges(
    follows: DataFrame, *, cutoff: datetime | None = None, exclude: DataFrame | None = None
) -> tuple[DataFrame, DataFrame]:
    """Follow edges ``(src_user, dst_user)``: those up to ``cutoff`` and those after it (held out).

    Args:
        follows: silver.follows (follower_id, followee_id, since).
        cutoff: follows with ``since >= cutoff`` are held out; none when None.
        exclude: DataFrame of ``user_id`` whose edges are dropped (risky accounts).
    """
    from pyspark.sql import functions as F

    edges = follows.where(F.col("follower_id") != F.col("followee_id")).select(
        F.col("follower_id").alias("src_user"), F.col("followee_id").alias("dst_user"), "since"
    )
    edges = _drop_excluded(edges, exclude)
    if cutoff is None:
        return edges.select("src_user", "dst_user").distinct(), edges.limit(0).select("src_user", "dst_user")
    when = F.lit(cutoff).cast("timestamp")
    kept = edges.where(F.col("since") < when).select("src_user", "dst_user").distinct()
    held = edges.where(F.col("since") >= when).select("src_user", "dst_user").distinct()
    return kept, held


def engagement_edges(
    events: DataFrame,
    posts: DataFrame,
    *,
    as_of: datetime,
    half_life_days: float,
    event_types: Sequence[str],
    exclude: DataFrame | None = None,
) -> DataFrame:
    """Engagement edges ``(src_user, dst_user, weight, interactions)``: A engaged with B's posts, recency-decayed.

    ``weight = sum(exp(-age_days * ln 2 / half_life_days))`` over A's ``event_types`` events on
    posts authored by B (self-engagement excluded); ``age_days`` is measured back from ``as_of``.
    ``interactions`` counts those events that engage (like, share, comment, click: not a view, which is
    exposure the feed chose), undecayed: the weight of the graph used when there are no follows.
    """
    from pyspark.sql import functions as F

    counted = [t for t in event_types if t in ENGAGEMENT_TYPES]
    engages = F.col("event_type").isin(counted) if counted else F.lit(False)
    age_days = (F.lit(as_of).cast("timestamp").cast("double") - F.col("ts").cast("double")) / 86400.0
    decay = F.exp(-F.greatest(age_days, F.lit(0.0)) * F.lit(math.log(2.0) / half_life_days))
    engaged = (
        events.where(F.col("event_type").isin(list(event_types)) & F.col("post_id").isNotNull())
        .select("user_id", "post_id", "ts", "event_type")
        .join(posts.select("post_id", "author_id"), on="post_id", how="inner")
        .where(F.col("user_id").isNotNull() & F.col("author_id").isNotNull() & (F.col("user_id") != F.col("author_id")))
    )
    edges = engaged.groupBy(F.col("user_id").alias("src_user"), F.col("author_id").alias("dst_user")).agg(
        F.sum(decay).alias("weight"), F.sum(engages.cast("bigint")).alias("interactions")
    )
    return _drop_excluded(edges, exclude)


def assign_ids(*edge_frames: DataFrame) -> DataFrame:
    """``(user_id, node_id)`` with node ids ``0 .. n-1`` by ``dense_rank`` over every endpoint's id."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    ids: DataFrame | None = None
    for edges in edge_frames:
        both = edges.select(F.col("src_user").alias("user_id")).union(edges.select(F.col("dst_user").alias("user_id")))
        ids = both if ids is None else ids.union(both)
    if ids is None:
        raise ValueError("assign_ids needs at least one edge frame")
    # One global ordering is the point: a single-partition sort of the distinct ids (one string per
    # person), cheap next to the edges (the Connect client warns about the unpartitioned window).
    rank = F.dense_rank().over(Window.orderBy("user_id"))
    return ids.distinct().select("user_id", (rank - 1).cast("bigint").alias("node_id"))


def to_node_edges(edges: DataFrame, ids: DataFrame) -> DataFrame:
    """Replace user ids by node ids: ``(src, dst, weight)`` (1.0 where absent), and ``interactions`` if present."""
    from pyspark.sql import functions as F

    weight = F.col("weight").cast("double") if "weight" in edges.columns else F.lit(1.0)
    extra = [F.col("interactions").cast("double")] if "interactions" in edges.columns else []
    src = ids.select(F.col("user_id").alias("src_user"), F.col("node_id").alias("src"))
    dst = ids.select(F.col("user_id").alias("dst_user"), F.col("node_id").alias("dst"))
    return edges.join(src, on="src_user").join(dst, on="dst_user").select("src", "dst", weight.alias("weight"), *extra)


def _graph(table: pa.Table, n: int, *, weight: str = "weight") -> Graph:
    """The collected ``(src, dst, <weight>)`` rows as a directed graph (edges of weight 0 left out)."""
    if table.num_rows == 0:
        return Graph.from_edges(np.zeros(0), np.zeros(0), num_nodes=n)
    src, dst, w = (table.column(c).to_numpy() for c in ("src", "dst", weight))
    keep = w > 0  # a pair seen only through views has 0 interactions
    return Graph.from_edges(src[keep], dst[keep], w[keep], num_nodes=n)


def build_graph_inputs(
    follows: DataFrame,
    events: DataFrame,
    posts: DataFrame,
    *,
    half_life_days: float = 7.0,
    event_types: Sequence[str] = (*ENGAGEMENT_TYPES, "view"),
    holdout_days: int = 0,
    exclude: DataFrame | None = None,
    lake: Lake | None = None,
) -> GraphInputs:
    """Build both graphs from silver DataFrames and collect them as NumPy COO arrays.

    Without follow edges (no follow events, or all of them held out or excluded) the interaction counts are kept
    too (:attr:`GraphInputs.interactions`): the graph the follow-graph algorithms fall back to.

    Args:
        follows: silver.follows.
        events: silver.events.
        posts: silver.posts.
        half_life_days: engagement decay half-life.
        event_types: event types that count as engagement.
        holdout_days: follows of the last N days (before ``as_of``) are held out; 0 holds none.
        exclude: DataFrame of ``user_id`` left out of every graph (accounts above the risk threshold).
        lake: where the person -> node id map is staged when it is too large to travel inside a Spark Connect plan
            (millions of people); None sends it inline.
    """
    as_of = reference_time(events, follows) or datetime.now(UTC).replace(microsecond=0)
    cutoff = as_of - timedelta(days=holdout_days) if holdout_days else None
    kept, held = follow_edges(follows, cutoff=cutoff, exclude=exclude)
    engaged = engagement_edges(
        events, posts, as_of=as_of, half_life_days=half_life_days, event_types=event_types, exclude=exclude
    )
    # Held-out endpoints get ids too (isolated if unseen before the cutoff) so recall counts them as misses.
    ids_table = assign_ids(kept, engaged, held).orderBy("node_id").toArrow()
    user_ids = ids_table.column("user_id").combine_chunks() if ids_table.num_rows else pa.array([], pa.string())
    n = len(user_ids)
    with _ids_frame(follows, ids_table, lake) as ids:
        follow_graph = _graph(to_node_edges(kept, ids).toArrow(), n)
        engaged_table = to_node_edges(engaged, ids).toArrow()
        held_graph = _graph(to_node_edges(held, ids).toArrow(), n)
    return GraphInputs(
        user_ids=user_ids,
        follows=follow_graph,
        engagement=_graph(engaged_table, n),
        holdout=held_graph,
        as_of=as_of,
        interactions=_graph(engaged_table, n, weight="interactions") if follow_graph.num_edges == 0 else None,
    )


def _ids_frame(like: DataFrame, ids_table: pa.Table, lake: Lake | None) -> AbstractContextManager[DataFrame]:
    """The id map as a DataFrame for the block: staged under the lake when large (see lake.staged)."""
    if lake is None or ids_table.num_rows == 0:
        return nullcontext(ids_table_to_frame(like, ids_table))
    from socialflywheel.lake.staged import arrow_frame

    return arrow_frame(like.sparkSession, lake, ids_table.select(["user_id", "node_id"]))


# The person -> graph node id map the joins share (not a lake table).
NODE_IDS = pa.schema({"user_id": pa.string(), "node_id": pa.int64()})


def ids_table_to_frame(like: DataFrame, ids_table: pa.Table) -> DataFrame:
    """The collected id map back as a DataFrame (so the joins reuse one ranking, not a re-evaluation)."""
    spark = like.sparkSession
    if ids_table.num_rows == 0:
        return spark.createDataFrame([], spark_ddl(NODE_IDS))
    return spark.createDataFrame(ids_table.select(["user_id", "node_id"]))

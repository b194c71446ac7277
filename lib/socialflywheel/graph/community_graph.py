"""The community graph: what each community is about and how communities link (gold.community_graph).

One row per community of the partition: its members' most frequent post categories and hashtags (posts they
wrote and posts they liked, shared, commented on or clicked), and the communities its members' edges reach, with
how many edges (of the graph the partition was found on). The report draws it as a picture of
the communities. Aggregates over members only: no person appears in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from socialflywheel.lake.catalog.stages import COMMUNITY_GRAPH

if TYPE_CHECKING:
    from datetime import datetime

    from pyspark.sql import DataFrame

    from socialflywheel.graph.analyze import GraphResults
    from socialflywheel.graph.build import GraphInputs

TOPICS = 3
"""Top categories and hashtags kept per community."""
ABOUT_EVENTS = ("post", "like", "share", "comment", "click")


def community_links(inputs: GraphInputs, res: GraphResults) -> dict[int, list[tuple[int, int]]]:
    """Per community, ``(other community, edges)`` of the social graph's edges between them, most edges first."""
    labels = np.asarray(res.communities.labels, dtype=np.int64)
    social = inputs.social
    a, b = labels[social.src], labels[social.dst]
    cross = a != b
    lo, hi = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
    k = int(labels.max(initial=-1)) + 1
    pairs, counts = np.unique(lo * k + hi, return_counts=True)
    out: dict[int, list[tuple[int, int]]] = {}
    for code, n in zip(pairs.tolist(), counts.tolist(), strict=True):
        x, y = divmod(code, k)
        out.setdefault(x, []).append((y, n))
        out.setdefault(y, []).append((x, n))
    return {c: sorted(v, key=lambda t: (-t[1], t[0])) for c, v in out.items()}


def community_topics(members: DataFrame, events: DataFrame, posts: DataFrame) -> dict[int, tuple[list[str], list[str]]]:
    """Per community, its members' top categories and hashtags over the posts they wrote or engaged with.

    Args:
        members: ``user_id, community`` of every node.
        events: silver.events.
        posts: silver.posts.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    touched = (
        events.where(F.col("event_type").isin(*ABOUT_EVENTS) & F.col("post_id").isNotNull())
        .select("user_id", "post_id")
        .join(members, "user_id")
        .join(posts.select("post_id", "category", "hashtags"), "post_id")
    )

    def top(values: DataFrame, column: str) -> dict[int, list[str]]:
        counted = values.where(F.col(column).isNotNull()).groupBy("community", column).count()
        order = Window.partitionBy("community").orderBy(F.desc("count"), F.col(column))
        ranked = counted.withColumn("r", F.row_number().over(order)).where(F.col("r") <= TOPICS)
        out: dict[int, list[str]] = {}
        for row in ranked.orderBy("community", "r").collect():
            out.setdefault(int(row["community"]), []).append(str(row[column]))
        return out

    categories = top(touched.select("community", "category"), "category")
    tags = top(touched.select("community", F.explode("hashtags").alias("hashtag")), "hashtag")
    return {c: (categories.get(c, []), tags.get(c, [])) for c in set(categories) | set(tags)}


def community_graph_table(
    communities: int,
    links: dict[int, list[tuple[int, int]]],
    topics: dict[int, tuple[list[str], list[str]]],
    as_of: datetime,
) -> pa.Table:
    """Rows of gold.community_graph, one per community ``0 .. communities - 1``."""
    ids = list(range(communities))
    schema = COMMUNITY_GRAPH.schema
    return pa.table(
        {
            "community": pa.array(ids, pa.int64()),
            "top_categories": pa.array([topics.get(c, ([], []))[0] for c in ids], pa.list_(pa.string())),
            "top_hashtags": pa.array([topics.get(c, ([], []))[1] for c in ids], pa.list_(pa.string())),
            "linked_communities": pa.array([[o for o, _ in links.get(c, [])] for c in ids], pa.list_(pa.int64())),
            "link_edges": pa.array([[n for _, n in links.get(c, [])] for c in ids], pa.list_(pa.int64())),
            "as_of": pa.array([as_of] * communities, schema.field("as_of").type),
        },
        schema=schema,
    )

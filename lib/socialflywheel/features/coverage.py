"""Optional fields real data may lack (the simulator always fills them), and what the features job does without them.

A post without a category counts as ``unknown``: the vocabulary, the affinity vector, item snapshots, training
examples, segment profiles and sentiment groups all see that one value, never a null. Every other optional field
the job reads is checked once per run; each one that no event carries is logged with what the job did without it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

UNKNOWN_CATEGORY = "unknown"
"""The category of a post that has none (Twitter, Mastodon and Bluesky posts carry no category)."""

# field -> (the events that should carry it, what the job does when none of them does)
USES: dict[str, tuple[tuple[str, ...], str]] = {
    "hashtags": (("post",), "no post has a hashtag: gold.hashtag_trends and hashtag_trend_scores are empty"),
    "text": (
        ("post", "comment"),
        "no post or comment has text: gold.post_sentiment and sentiment_aggregates are empty",
    ),
    "dwell_ms": (
        ("view",),
        "no view has a dwell time: dwell features are null (0 in the vectors), account risk leaves dwell out "
        "and only engagements label training examples positive",
    ),
    "device": (("view",), "no view names a device: training examples carry a null device"),
    "campaign_id": (
        ("post", "ad_impression", "ad_click"),
        "no event names a campaign: gold.campaign_performance is empty",
    ),
}


def with_category(posts: DataFrame) -> DataFrame:
    """silver.posts with every missing category replaced by :data:`UNKNOWN_CATEGORY` (pure)."""
    from pyspark.sql import functions as F

    return posts.withColumn("category", F.coalesce(F.col("category"), F.lit(UNKNOWN_CATEGORY)))


def read_posts(spark: SparkSession, lake: Lake) -> DataFrame:
    """silver.posts as every feature builder reads it: a post without a category counts as ``unknown``."""
    return with_category(lake.read(spark, "silver.posts"))


def category_vocabulary(lake: Lake) -> list[str]:
    """The sorted distinct post categories of silver.posts (positions of ``category_affinity``).

    A post without a category adds ``unknown``; posts without one are logged (all of them, or how many).
    """
    cats = lake.read_arrow("silver.posts", columns=["category"]).column("category").to_pylist()
    missing = sum(c is None for c in cats)
    if cats and missing == len(cats):
        log.warning("features: no post has a category: every post counts as %r", UNKNOWN_CATEGORY)
    elif missing:
        log.warning("features: %d of %d posts have no category: they count as %r", missing, len(cats), UNKNOWN_CATEGORY)
    return sorted({UNKNOWN_CATEGORY if c is None else c for c in cats})


def _present(field: str) -> Column:
    from pyspark.sql import functions as F

    value = F.col(field)
    if field == "hashtags":
        return F.coalesce(F.size(value), F.lit(0)) > 0
    if field in ("text", "device", "campaign_id"):
        return value.isNotNull() & (F.length(value) > 0)
    return value.isNotNull()


@dataclass(frozen=True)
class Coverage:
    """What silver.events carries, from one pass over it."""

    missing: list[str]
    """The fields of :data:`USES` that none of their events carries, in :data:`USES` order."""
    views: bool
    """Whether any view of a post exists (else training examples are the engagements)."""


def survey(events: DataFrame) -> Coverage:
    """One pass over silver.events: the optional fields it lacks (each logged) and whether it holds views."""
    from pyspark.sql import functions as F

    carried = events.agg(
        *[
            F.count(F.when(F.col("event_type").isin(*kinds) & _present(field), F.lit(1))).alias(field)
            for field, (kinds, _) in USES.items()
        ],
        F.count(F.when((F.col("event_type") == "view") & F.col("post_id").isNotNull(), F.lit(1))).alias("_views"),
    ).first()
    missing = [field for field in USES if carried is None or not carried[field]]
    for field in missing:
        log.warning("features: %s", USES[field][1])
    return Coverage(missing=missing, views=carried is not None and bool(carried["_views"]))

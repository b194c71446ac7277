"""gold.post_sentiment and gold.sentiment_aggregates: VADER sentiment of posts and comments, and by group.

VADER (vaderSentiment ships its lexicon, emoji included) runs in a pandas UDF: each Arrow batch is
scored once per distinct text (comments repeat phrases), on CPU wherever the engine runs. Labels
follow VADER's own convention: positive when compound >= 0.05, negative when <= -0.05, else neutral.
"""

# No `from __future__ import annotations`: pandas_udf reads the type hints at definition time.
import functools
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog.stages import POST_SENTIMENT, SENTIMENT_AGGREGATES

if TYPE_CHECKING:
    from collections.abc import Callable

    import pandas as pd
    from pyspark.sql import Column, DataFrame, SparkSession
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from socialflywheel.lake.io import Lake

POSITIVE_AT = 0.05
NEGATIVE_AT = -0.05
GROUP_TYPES = ("hashtag", "category", "campaign")


@functools.lru_cache(maxsize=1)
def _analyzer() -> "SentimentIntensityAnalyzer":
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(texts: "pd.Series") -> "pd.Series":
    """VADER compound score of each text (null stays null), scoring each distinct text once."""
    import pandas as pd

    analyzer = _analyzer()
    distinct = texts.dropna().unique()
    scores = {t: float(analyzer.polarity_scores(t)["compound"]) for t in distinct}
    return pd.Series(texts.map(scores), dtype="float64")


def _vader_udf() -> "Callable[[Column | str], Column]":
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    def _compound(texts: pd.Series) -> pd.Series:
        return vader_compound(texts)

    # The stubs list only the functionType forms; the type hints above make it a Series-to-Series UDF.
    udf: Callable[[Column | str], Column] = pandas_udf(_compound, "double")  # type: ignore[call-overload]
    return udf


def sentiment_label(compound: "Column") -> "Column":
    """Label a compound score column ``positive``, ``negative`` or ``neutral``."""
    from pyspark.sql import functions as F

    return (
        F.when(compound >= F.lit(POSITIVE_AT), F.lit("positive"))
        .when(compound <= F.lit(NEGATIVE_AT), F.lit("negative"))
        .otherwise(F.lit("neutral"))
    )


def post_sentiment(events: "DataFrame") -> "DataFrame":
    """Score the text of every post and comment event.

    Args:
        events: silver.events.

    Returns:
        Rows of the gold.post_sentiment schema.
    """
    from pyspark.sql import functions as F

    texts = events.filter(F.col("event_type").isin("post", "comment") & F.col("text").isNotNull())
    scored = texts.withColumn("compound", _vader_udf()(F.col("text")))
    return scored.select(
        "event_id",
        F.col("event_type").alias("kind"),
        "post_id",
        "user_id",
        "ts",
        F.col("compound").cast("double"),
        sentiment_label(F.col("compound")).alias("label"),
        F.to_date("ts").alias("event_date"),
    )


def sentiment_aggregates(sentiment: "DataFrame", posts: "DataFrame", *, min_users: int) -> "DataFrame":
    """Sentiment per (hashtag | category | campaign, day), k-suppressed.

    A comment counts towards the hashtags, category and campaign of the post it comments on.

    Args:
        sentiment: gold.post_sentiment rows (risky accounts already removed if they should not count).
        posts: silver.posts.
        min_users: k; groups with fewer distinct users are dropped.

    Returns:
        Rows of the gold.sentiment_aggregates schema.
    """
    from functools import reduce

    from pyspark.sql import functions as F

    from socialflywheel.features.suppress import suppress_small_groups

    rows = sentiment.join(posts.select("post_id", "category", "hashtags", "campaign_id"), "post_id", "left").withColumn(
        "day", F.to_date("ts")
    )
    keyed = {
        "hashtag": rows.select("*", F.explode(F.array_distinct(F.transform("hashtags", F.lower))).alias("group_key")),
        "category": rows.withColumn("group_key", F.col("category")),
        "campaign": rows.withColumn("group_key", F.col("campaign_id")),
    }
    parts = []
    for group_type in GROUP_TYPES:
        part = keyed[group_type].filter(F.col("group_key").isNotNull())
        parts.append(
            part.groupBy("group_key", "day")
            .agg(
                F.count(F.lit(1)).alias("items"),
                F.sum((F.col("kind") == "post").cast("long")).alias("posts"),
                F.sum((F.col("kind") == "comment").cast("long")).alias("comments"),
                F.sum((F.col("label") == "positive").cast("long")).alias("positive"),
                F.sum((F.col("label") == "negative").cast("long")).alias("negative"),
                F.sum((F.col("label") == "neutral").cast("long")).alias("neutral"),
                F.avg("compound").alias("mean_compound"),
                F.countDistinct("user_id").alias("users"),
            )
            .withColumn("group_type", F.lit(group_type))
        )
    out = reduce(lambda a, b: a.unionByName(b), parts)
    return suppress_small_groups(out, user_count_col="users", k=min_users).select(*SENTIMENT_AGGREGATES.column_names)


def build_post_sentiment(spark: "SparkSession", lake: "Lake", *, k: int) -> int:
    """Write gold.post_sentiment (overwrite) and gold.sentiment_aggregates from it.

    Returns:
        Post and comment rows written.
    """
    from socialflywheel.features.coverage import read_posts
    from socialflywheel.features.risk import risky_accounts, without_risky

    lake.overwrite(post_sentiment(lake.read(spark, "silver.events")), POST_SENTIMENT.name)
    scored = without_risky(lake.read(spark, POST_SENTIMENT.name), risky_accounts(spark, lake))
    aggregates = sentiment_aggregates(scored, read_posts(spark, lake), min_users=k)
    lake.overwrite(aggregates, SENTIMENT_AGGREGATES.name)
    return lake.read(spark, POST_SENTIMENT.name).count()

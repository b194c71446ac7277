"""gold.item_features: a daily point-in-time snapshot of every post (as_of_date partitions).

A row at ``as_of_date = D`` exists for posts created before ``D + 1 day`` and uses only events of days
``<= D``. Share events carry no parent in the event contract, so cascade depth is approximated by
``reshares``: shares by someone who, at that moment, followed a person who had shared the post before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialflywheel.features.coverage import read_posts
from socialflywheel.features.partitions import write_partitions
from socialflywheel.features.windows import (
    Span,
    cutoff_ts,
    date_grid,
    follow_counts,
    follow_intervals,
    micros,
    safe_ratio,
    with_end_date,
)
from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.lake.catalog.stages import ITEM_FEATURES as ITEM_FEATURES  # re-exported for features.job

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake

_COUNTS = {"view": "impressions", "like": "likes", "share": "shares", "comment": "comments", "click": "clicks"}


def item_features(
    events: DataFrame,
    posts: DataFrame,
    *,
    velocity_hours: list[int],
    since: str | None = None,
    until: str | None = None,
) -> DataFrame:
    """Daily post snapshots from silver events and posts (pure: no reads, no writes).

    Every count is a running total since the post was created. With ``since``, the snapshots of days
    ``since``..``until`` are built from the events of those days plus one total per post over the earlier days (and
    the shares and follows of every day, which decide who shared first and who reshared through whom), so a chunk
    of a full build holds O(chunk + posts), not O(lake). The chunks of a build equal the build in one piece.

    Args:
        events: silver.events (snapshots run to its last event date, or ``until``).
        posts: silver.posts (author, creation time, category).
        velocity_hours: engagements counted within these many hours of ``created_at``.
        since: ISO date; only snapshots with ``as_of_date >= since`` are built.
        until: ISO date; only snapshots with ``as_of_date <= until`` are built.

    Returns:
        The gold.item_features columns.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    span = Span.of(since, until)
    upto = Span(None, span.until).bound(events)
    hours = sorted({int(h) for h in velocity_hours})
    meta = posts.select("post_id", "author_id", "category", "created_at")

    def on_posts(evs: DataFrame) -> DataFrame:
        # Events before the post's creation cannot be real; they are left out rather than moved.
        return (
            evs.where(F.col("post_id").isNotNull() & F.col("event_type").isin(*_COUNTS))
            .join(meta.select("post_id", "created_at"), "post_id")
            .where(F.col("ts") >= F.col("created_at"))
        )

    engaged = F.col("event_type").isin(*ENGAGEMENT_TYPES)
    age = micros("ts") - micros("created_at")
    day_aggs = [
        *[F.sum((F.col("event_type") == t).cast("bigint")).alias(f"d_{t}") for t in _COUNTS],
        *[F.sum((engaged & (age < F.lit(h * 3_600_000_000))).cast("bigint")).alias(f"d_v{h}") for h in hours],
        F.max("ts").alias("day_last_ts"),
    ]
    daily = on_posts(span.bound(events)).groupBy("post_id", "event_date").agg(*day_aggs)
    shares = on_posts(upto.where(F.col("event_type") == "share"))
    sharers = (
        shares.groupBy("post_id", "user_id")
        .agg(F.min("event_date").alias("event_date"))
        .groupBy("post_id", "event_date")
        .agg(F.count(F.lit(1)).cast("bigint").alias("d_sharers"))
    )
    reshares = _reshares(shares, upto)
    starts = meta.select("post_id", F.to_date("created_at").alias("_start"))
    day_cols = [f"d_{t}" for t in _COUNTS] + [f"d_v{h}" for h in hours] + ["d_sharers", "d_reshares"]
    carried: list[str] = []
    if span.since is not None:  # totals up to the eve of the span, one row per post; the grid starts with the span
        first = F.lit(span.since)
        before = F.col("event_date") < first
        earlier = (
            on_posts(events.where(before))
            .groupBy("post_id")
            .agg(*day_aggs)
            .join(
                sharers.where(before).groupBy("post_id").agg(F.sum("d_sharers").alias("d_sharers")), "post_id", "full"
            )
            .join(
                reshares.where(before).groupBy("post_id").agg(F.sum("d_reshares").alias("d_reshares")),
                "post_id",
                "full",
            )
            .select("post_id", *[F.col(c).alias(f"_{c}0") for c in day_cols], F.col("day_last_ts").alias("_last0"))
        )
        carried = [f"_{c}0" for c in day_cols] + ["_last0"]
        starts = starts.join(earlier, "post_id", "left").select(
            "post_id", F.greatest(F.col("_start"), first).alias("_start"), *carried
        )
        sharers, reshares = sharers.where(~before), reshares.where(~before)
    grid = date_grid(with_end_date(starts, upto, span.until), key="post_id", start_col="_start", keep=carried)
    base = (
        grid.join(daily.withColumnRenamed("event_date", "as_of_date"), ["post_id", "as_of_date"], "left")
        .join(sharers.withColumnRenamed("event_date", "as_of_date"), ["post_id", "as_of_date"], "left")
        .join(reshares.withColumnRenamed("event_date", "as_of_date"), ["post_id", "as_of_date"], "left")
        .fillna(0, subset=day_cols + carried[:-1])
    )
    running = Window.partitionBy("post_id").orderBy("as_of_date").rowsBetween(Window.unboundedPreceding, 0)

    def total(c: str) -> Column:
        so_far = F.sum(c).over(running)
        return (so_far + F.col(f"_{c}0") if carried else so_far).cast("bigint").alias(c)

    last_seen = F.max("day_last_ts").over(running)
    cum = span.keep(
        base.select(
            "post_id",
            "as_of_date",
            *[total(c) for c in day_cols],
            (F.greatest(F.col("_last0"), last_seen) if carried else last_seen).alias("last_event_ts"),
        )
    )
    engagements = sum((F.col(f"d_{t}") for t in ENGAGEMENT_TYPES), F.lit(0).cast("bigint"))
    authors = follow_counts(events, span).select(
        F.col("user_id").alias("author_id"), "as_of_date", F.col("followers").alias("author_followers")
    )
    author_posts = _author_posts(meta)
    out = meta.join(cum, "post_id").select(
        "post_id",
        "author_id",
        "category",
        "created_at",
        *[F.col(f"d_{t}").alias(name) for t, name in _COUNTS.items()],
        engagements.alias("engagements"),
        safe_ratio(engagements, F.col("d_view")).alias("engagement_rate"),
        F.create_map(*[x for h in hours for x in (F.lit(f"{h}h"), F.col(f"d_v{h}"))]).alias("engagement_velocity"),
        F.col("d_sharers").alias("distinct_sharers"),
        F.col("d_reshares").alias("reshares"),
        ((micros(cutoff_ts("as_of_date")) - micros("created_at")) / F.lit(3_600_000_000.0)).alias("age_hours"),
        "last_event_ts",
        "as_of_date",
    )
    keys = ["author_id", "as_of_date"]  # narrow tables on the left of a join (see user_features)
    pairs = out.select(*keys).distinct()
    so_far = (
        pairs.join(author_posts, "author_id")
        .where(F.col("_posted_on") <= F.col("as_of_date"))
        .groupBy("author_id", "as_of_date")
        .agg(F.sum("_posted").cast("bigint").alias("author_posts"))
    )
    return (
        so_far.join(authors.join(out, keys, "right"), keys, "right")
        .fillna(0, subset=["author_followers", "author_posts"])
        .select(*ITEM_FEATURES.column_names)
    )


def _author_posts(meta: DataFrame) -> DataFrame:
    """Posts per author and creation date: ``author_id, _posted_on, _posted``."""
    from pyspark.sql import functions as F

    return meta.groupBy("author_id", F.to_date("created_at").alias("_posted_on")).agg(
        F.count(F.lit(1)).alias("_posted")
    )


def _reshares(shares: DataFrame, events: DataFrame) -> DataFrame:
    """Per post and day, shares made by someone who then followed an earlier sharer of the same post."""
    from pyspark.sql import functions as F

    child = shares.select("event_id", "post_id", "user_id", "ts", "event_date")
    parent = shares.select("post_id", F.col("user_id").alias("parent_id"), F.col("ts").alias("parent_ts"))
    follows = follow_intervals(events)
    through = (
        child.join(parent, "post_id")
        .where((F.col("parent_ts") < F.col("ts")) & (F.col("parent_id") != F.col("user_id")))
        .join(
            follows,
            (F.col("follower_id") == F.col("user_id")) & (F.col("followee_id") == F.col("parent_id")),
        )
        .where((F.col("start_ts") < F.col("ts")) & (F.col("end_ts").isNull() | (F.col("ts") <= F.col("end_ts"))))
    )
    return (
        through.select("event_id", "post_id", "event_date")
        .distinct()
        .groupBy("post_id", "event_date")
        .agg(F.count(F.lit(1)).cast("bigint").alias("d_reshares"))
    )


def item_feature_names(*, velocity_hours: list[int]) -> list[str]:
    """Names of the positions of the ``item_features`` vector in gold.training_examples."""
    names = ["log1p_impressions", "log1p_engagements", "engagement_rate"]
    names += [f"log1p_engagements_{h}h" for h in sorted({int(h) for h in velocity_hours})]
    names += ["log1p_distinct_sharers", "log1p_reshares", "log1p_age_hours"]
    return [*names, "log1p_author_followers", "log1p_author_posts"]


def item_feature_vector(*, velocity_hours: list[int]) -> Column:
    """The ``array<double>`` of :func:`item_feature_names` over gold.item_features columns (nulls as 0)."""
    from pyspark.sql import functions as F

    def log1p(c: Column) -> Column:
        return F.log1p(F.greatest(F.coalesce(c.cast("double"), F.lit(0.0)), F.lit(0.0)))

    parts = [log1p(F.col("impressions")), log1p(F.col("engagements"))]
    parts += [F.coalesce(F.col("engagement_rate"), F.lit(0.0))]
    parts += [log1p(F.col("engagement_velocity")[f"{h}h"]) for h in sorted({int(h) for h in velocity_hours})]
    parts += [
        log1p(F.col(c)) for c in ("distinct_sharers", "reshares", "age_hours", "author_followers", "author_posts")
    ]
    return F.array(*parts)


def build_item_features(
    spark: SparkSession, lake: Lake, fc: FeaturesConfig, *, since: str | None = None, until: str | None = None
) -> int:
    """Read silver events and posts, write gold.item_features (every snapshot, or those of ``since``..``until``).

    Args:
        spark: the session.
        lake: the lake read from and written to.
        fc: the ``features`` section (velocity windows).
        since: ISO date of the first snapshot to rewrite; None rewrites the table.
        until: ISO date of the last snapshot to write (a chunk of a full build); None: the last event date.

    Returns:
        The number of snapshot rows written.
    """
    df = item_features(
        lake.read(spark, "silver.events"),
        read_posts(spark, lake),
        velocity_hours=fc.velocity_hours,
        since=since,
        until=until,
    )
    return write_partitions(spark, lake, df, ITEM_FEATURES.name, column="as_of_date", since=since, until=until)

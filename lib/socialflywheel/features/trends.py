"""gold.hashtag_trend_scores and gold.hashtag_trends: hashtags bursting against their own trailing baseline.

A tag's use in a bucket (hour or day) is scored against its own trailing baseline: its share of
all posts over the previous ``baseline_buckets`` buckets times this bucket's posts (so the daily
cycle is not a burst), giving the expected uses ``baseline`` and

    score = (uses - baseline) / sqrt(baseline + prior)

a Poisson z-score whose ``prior`` pseudo-count keeps a tag with a near-zero baseline from
"bursting" on one or two stray uses. A bucket bursts when ``score >= min_score`` and
``uses >= min_count``. A trend is a run of consecutive buckets scoring at least ``extend_score``
(hysteresis: the quieter first hour of a burst still counts) holding at least one burst bucket;
runs bridge up to ``max_gap`` quiet buckets. A trend's start is its first bucket and its strength
the peak score. Raw counts never decide: a tag used every day by everyone has a high count and a
flat score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from socialflywheel.lake.catalog.stages import TREND_SCORES, TRENDS

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake

Granularity = Literal["hour", "day"]
BUCKET_SECONDS = {"hour": 3600, "day": 86400}


def hashtag_counts(events: DataFrame, *, granularity: Granularity) -> tuple[DataFrame, DataFrame]:
    """Uses and distinct users of every hashtag of post events per bucket, and posts per bucket.

    Args:
        events: silver.events (risky accounts already removed if they should not count).
        granularity: ``hour`` or ``day``.

    Returns:
        (``hashtag, bucket, uses, users``; ``bucket, posts``), ``bucket`` being the long index
        epoch seconds // bucket length.
    """
    from pyspark.sql import functions as F

    length = BUCKET_SECONDS[granularity]
    posts = events.filter(F.col("event_type") == "post").select(
        "user_id",
        F.floor(F.col("ts").cast("long") / F.lit(length)).cast("long").alias("bucket"),
        F.coalesce(F.col("hashtags"), F.array().cast("array<string>")).alias("hashtags"),
    )
    totals = posts.groupBy("bucket").agg(F.count(F.lit(1)).alias("posts"))
    tags = posts.select(
        "user_id", "bucket", F.explode(F.array_distinct(F.transform("hashtags", lambda t: F.lower(t)))).alias("hashtag")
    )
    counts = tags.groupBy("hashtag", "bucket").agg(
        F.count(F.lit(1)).alias("uses"), F.countDistinct("user_id").alias("users")
    )
    return counts, totals


def burst_scores(
    counts: DataFrame,
    totals: DataFrame,
    *,
    granularity: Granularity,
    baseline_buckets: int,
    prior: float,
    min_score: float,
    min_count: int,
    noise_var: float = 0.0,
    noise_per_use: float = 0.0,
) -> DataFrame:
    """Score each (hashtag, bucket) against the tag's own trailing share of posts.

    The expected uses of a tag in a bucket are its share of all posts over the trailing
    ``baseline_buckets`` buckets times the posts of this bucket, so the daily cycle of activity
    does not look like a burst. A bucket can only burst once the data holds half a window of
    history before it (the first hours have no baseline worth the name).

    Args:
        counts: first output of :func:`hashtag_counts`.
        totals: second output of :func:`hashtag_counts` (posts per bucket).
        granularity: ``hour`` or ``day`` (names the rows; bucket lengths come from it).
        baseline_buckets: trailing buckets in the baseline.
        prior: pseudo-count added to the expected count in the variance.
        min_score: score at which a bucket bursts.
        min_count: fewest uses for a burst.
        noise_var: variance of the counts' own noise at zero uses, added to the Poisson variance (0 for exact
            counts; the mechanism's noise floor for counts estimated under local differential privacy).
        noise_per_use: the counts' own noise variance per expected use (a sampling mechanism's), so the
            variance is ``baseline * (1 + noise_per_use) + prior + noise_var``.

    Returns:
        Rows of the gold.hashtag_trend_scores schema plus ``bucket`` (the long index).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    # One row per bucket: a window over the whole (small) bucket table is fine.
    all_past = Window.orderBy("bucket").rangeBetween(-baseline_buckets, -1)
    totals = totals.withColumn("_posts_past", F.coalesce(F.sum("posts").over(all_past), F.lit(0))).withColumn(
        "_history",
        F.col("bucket") - F.min("bucket").over(Window.orderBy("bucket").rowsBetween(Window.unboundedPreceding, 0)),
    )
    trailing = Window.partitionBy("hashtag").orderBy("bucket").rangeBetween(-baseline_buckets, -1)
    expected = F.when(F.col("_posts_past") > 0, F.col("_uses_past") / F.col("_posts_past") * F.col("posts")).otherwise(
        F.lit(0.0)
    )
    scored = (
        counts.join(totals, "bucket")
        .withColumn("_uses_past", F.coalesce(F.sum("uses").over(trailing), F.lit(0)))
        .withColumn("baseline", expected.cast("double"))
        .withColumn(
            "score",
            (F.col("uses") - F.col("baseline"))
            / F.sqrt(F.col("baseline") * F.lit(1.0 + noise_per_use) + F.lit(prior + noise_var)),
        )
    )
    burst = (
        (F.col("score") >= F.lit(min_score))
        & (F.col("uses") >= F.lit(min_count))
        & (F.col("_history") >= F.lit((baseline_buckets + 1) // 2))
    )
    return scored.select(
        F.lit(granularity).alias("granularity"),
        "hashtag",
        "bucket",
        F.timestamp_seconds(F.col("bucket") * F.lit(BUCKET_SECONDS[granularity])).alias("bucket_start"),
        F.col("uses").cast("long"),
        F.col("users").cast("long"),
        "baseline",
        F.col("score").cast("double"),
        burst.alias("is_burst"),
    )


def trend_runs(scores: DataFrame, *, granularity: Granularity, extend_score: float, max_gap: int) -> DataFrame:
    """Trends from scored buckets: runs of buckets scoring at least ``extend_score`` that hold a burst.

    Hot buckets at most ``max_gap`` quiet buckets apart belong to one run, so a burst that dims
    overnight stays one trend.

    Args:
        scores: output of :func:`burst_scores` (with ``bucket``).
        granularity: ``hour`` or ``day``.
        extend_score: score that starts or continues a run.
        max_gap: quiet buckets a run may bridge.

    Returns:
        Rows of the gold.hashtag_trends schema.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    length = BUCKET_SECONDS[granularity]
    hot = scores.filter((F.col("score") >= F.lit(extend_score)) | F.col("is_burst"))
    order = Window.partitionBy("hashtag").orderBy("bucket")
    upto = order.rowsBetween(Window.unboundedPreceding, 0)
    fresh = F.coalesce((F.col("bucket") - F.lag("bucket").over(order) > F.lit(max_gap + 1)).cast("int"), F.lit(1))
    hot = hot.withColumn("_new", fresh).withColumn("_run", F.sum("_new").over(upto))
    runs = hot.groupBy("hashtag", "_run").agg(
        F.min("bucket").alias("first"),
        F.max("bucket").alias("last"),
        F.count(F.lit(1)).alias("buckets"),
        F.sum("uses").alias("uses"),
        F.max("score").alias("strength"),
        F.max_by("bucket", "score").alias("peak"),
        F.min_by("baseline", "bucket").alias("baseline"),
        F.max(F.col("is_burst").cast("int")).alias("_bursts"),
    )
    return runs.filter(F.col("_bursts") > 0).select(
        F.lit(granularity).alias("granularity"),
        "hashtag",
        F.timestamp_seconds(F.col("first") * F.lit(length)).alias("start_ts"),
        F.timestamp_seconds((F.col("last") + F.lit(1)) * F.lit(length)).alias("end_ts"),
        F.timestamp_seconds(F.col("peak") * F.lit(length)).alias("peak_ts"),
        F.col("buckets").cast("long"),
        F.col("uses").cast("long"),
        F.col("baseline").cast("double"),
        F.col("strength").cast("double"),
    )


def hashtag_trends(
    events: DataFrame,
    *,
    granularity: Granularity,
    baseline_buckets: int,
    prior: float,
    min_score: float,
    min_count: int,
    extend_score: float,
    max_gap: int,
) -> tuple[DataFrame, DataFrame]:
    """Scores and trends of one granularity from events (the whole transform, pure).

    Args:
        events: silver.events without risky accounts.
        granularity: ``hour`` or ``day``.
        baseline_buckets: trailing buckets in each tag's baseline.
        prior: pseudo-count added to the baseline variance.
        min_score: burst score threshold.
        min_count: fewest uses in a burst bucket.
        extend_score: score that starts or continues a trend around a burst.
        max_gap: quiet buckets a trend may bridge.

    Returns:
        (gold.hashtag_trend_scores rows, gold.hashtag_trends rows).
    """
    counts, totals = hashtag_counts(events, granularity=granularity)
    scores = burst_scores(
        counts,
        totals,
        granularity=granularity,
        baseline_buckets=baseline_buckets,
        prior=prior,
        min_score=min_score,
        min_count=min_count,
    )
    trends = trend_runs(scores, granularity=granularity, extend_score=extend_score, max_gap=max_gap)
    return scores.drop("bucket"), trends


def trend_scores_table(events: DataFrame, **options: object) -> DataFrame:
    """The scores half of :func:`hashtag_trends` (one DataFrame out, for runners that take one)."""
    return hashtag_trends(events, **options)[0]  # type: ignore[arg-type]


def trends_table(events: DataFrame, **options: object) -> DataFrame:
    """The trends half of :func:`hashtag_trends` (one DataFrame out, for runners that take one)."""
    return hashtag_trends(events, **options)[1]  # type: ignore[arg-type]


def trend_options(f: FeaturesConfig, granularity: Granularity) -> dict[str, object]:
    """The keyword options of :func:`hashtag_trends` for one granularity, from the ``features`` section."""
    return {
        "granularity": granularity,
        "baseline_buckets": f.trend_baseline_buckets if granularity == "hour" else f.trend_daily_baseline_days,
        "prior": f.trend_prior,
        "min_score": f.trend_min_score,
        "min_count": f.trend_min_count,
        "extend_score": f.trend_extend_score,
        "max_gap": f.trend_max_gap,
    }


def build_hashtag_trends(spark: SparkSession, lake: Lake, fc: FeaturesConfig) -> int:
    """Write gold.hashtag_trend_scores and gold.hashtag_trends for ``features.trend_bucket`` and for days.

    Posts by accounts that gold.account_risk marks risky are left out when that table exists.

    Returns:
        Trend rows written.
    """
    from functools import reduce

    from socialflywheel.features.risk import risky_accounts, without_risky

    events = without_risky(lake.read(spark, "silver.events"), risky_accounts(spark, lake))
    grains: list[Granularity] = ["hour", "day"] if fc.trend_bucket == "hour" else ["day"]
    results = [hashtag_trends(events, **trend_options(fc, g)) for g in grains]  # type: ignore[arg-type]
    lake.overwrite(reduce(lambda a, b: a.unionByName(b), [r[0] for r in results]), TREND_SCORES.name)
    lake.overwrite(reduce(lambda a, b: a.unionByName(b), [r[1] for r in results]), TRENDS.name)
    return lake.read(spark, TRENDS.name).count()

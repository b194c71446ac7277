"""gold.training_examples: one labelled row per impression (a view of a post), with point-in-time features.

Label: 1 when the viewer liked, shared, commented on or clicked the same post within the session gap
(``features.session_gap_minutes``, default 30 min) after the view, or dwelt on it for at least
``features.label_dwell_ms`` (default 20 s); else 0. A lake without view events (a Twitter or Reddit dump
holds posts, likes, shares, comments and follows only) has no impressions: each like, share, comment or
click of a post is then a row, labelled 1, and the trainer's negatives are sampled posts (in-batch and
``train.random_negatives``) as with views. Weight: 1.0 for every row. Features come from the
user and item snapshots at ``as_of_date = event_date - 1`` (events of earlier days only), so no example
sees its own day; a missing snapshot (a new user or post) gives a zero vector. Context: the view's
device, hour of day (0-23, UTC) and day of week (1 = Sunday .. 7 = Saturday, Spark's ``dayofweek``).
Split by time: ``test`` = the last ``features.test_days`` event dates, ``val`` = the
``features.validation_days`` before them, ``train`` = the rest.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

from socialflywheel.features.coverage import read_posts
from socialflywheel.features.item_features import item_feature_names, item_feature_vector
from socialflywheel.features.partitions import write_partitions
from socialflywheel.features.risk import risky_accounts
from socialflywheel.features.user_features import user_feature_names, user_feature_vector
from socialflywheel.features.windows import Span, gap_days, micros, with_end_date
from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.lake.catalog.stages import TRAINING_EXAMPLES as TRAINING_EXAMPLES  # re-exported for features.job

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

ExamplesFrom = Literal["views", "engagements"]
"""What a row is: a view (an impression, labelled by what followed it), or an engagement (a positive)."""


def training_examples(
    events: DataFrame,
    posts: DataFrame,
    user_features: DataFrame,
    item_features: DataFrame,
    *,
    windows_days: list[int],
    categories: list[str],
    velocity_hours: list[int],
    session_gap_minutes: int = 30,
    label_dwell_ms: int = 20_000,
    test_days: int = 7,
    validation_days: int = 3,
    as_of_offset_days: int = 1,
    since: str | None = None,
    until: str | None = None,
    risky: DataFrame | None = None,
    examples_from: ExamplesFrom = "views",
    user_shares: tuple[float, float] | None = None,
) -> DataFrame:
    """Labelled impressions with features joined as of the previous day (pure: no reads, no writes).

    Args:
        events: silver.events (all days: the split is relative to its last event date).
        posts: silver.posts.
        user_features: gold.user_features snapshots.
        item_features: gold.item_features snapshots.
        windows_days: the user feature windows (vector layout).
        categories: the sorted category vocabulary (vector layout).
        velocity_hours: the item velocity horizons (vector layout).
        session_gap_minutes: an engagement this soon after the view labels it positive.
        label_dwell_ms: a view dwelt on this long is positive.
        test_days: last event dates in the test split.
        validation_days: event dates before the test period in the validation split.
        as_of_offset_days: features come from ``event_date - as_of_offset_days``; 1 is point-in-time
            correct, 0 leaks the example's own day (kept as a parameter to prove that in tests).
        since: ISO date; only examples with ``event_date >= since`` are returned.
        until: ISO date; only examples with ``event_date <= until`` are returned (a chunk of a full build: it reads
            the views of its days, the engagements up to a session gap after them, and the snapshots of the day
            before each; the split still counts from the last event date of ``events``).
        risky: ``user_id`` of accounts to leave out, as viewers and as authors.
        user_shares: (validation, test) shares for a per-person split by time (each person's last test share of
            their rows over all days is test, the validation share before it val; cuts fall on timestamps); None
            splits by global periods (``test_days``, ``validation_days``).
        examples_from: ``views``: one row per view, labelled; ``engagements`` (a lake without view events): one
            row per like, share, comment or click of a post, each labelled 1.

    Returns:
        The gold.training_examples columns.
    """
    from pyspark.sql import functions as F

    kinds = ("view",) if examples_from == "views" else ENGAGEMENT_TYPES
    views = events.where(F.col("event_type").isin(*kinds) & F.col("post_id").isNotNull())
    engagements = events.where(F.col("event_type").isin(*ENGAGEMENT_TYPES) & F.col("post_id").isNotNull())
    span = Span.of(since, until)
    views = span.bound(views)
    engagements = Span(span.since).bound(engagements)  # an engagement is never before its view
    if span.until is not None:  # one up to a session gap after the span's last view labels it
        reach = timedelta(days=gap_days(session_gap_minutes))
        engagements = engagements.where(F.col("event_date") <= F.lit(span.until + reach))
    shifted = span.shifted(int(as_of_offset_days))
    user_features = shifted.keep(user_features)
    item_features = shifted.keep(item_features)
    v = views.select("event_id", "user_id", "post_id", "ts", "dwell_ms", "device", "event_date")
    e = engagements.select(
        F.col("user_id").alias("_e_user"), F.col("post_id").alias("_e_post"), F.col("ts").alias("_e_ts")
    )
    gap = F.lit(int(session_gap_minutes) * 60_000_000)
    engaged = (
        v.join(e, (F.col("user_id") == F.col("_e_user")) & (F.col("post_id") == F.col("_e_post")))
        .where((micros("_e_ts") >= micros("ts")) & (micros("_e_ts") - micros("ts") <= gap))
        .select("event_id")
        .distinct()
        .withColumn("_engaged", F.lit(True))
    )
    meta = posts.select("post_id", "author_id", "category", "hashtags", "created_at")
    if examples_from == "views":
        examples = v.join(engaged, "event_id", "left").join(meta, "post_id")
    else:  # each row is an engagement, so a positive: nothing after it labels it
        examples = v.withColumn("_engaged", F.lit(True)).join(meta, "post_id")
    if risky is not None:
        bad = risky.select("user_id").distinct()
        examples = examples.join(bad, "user_id", "left_anti").join(
            bad.withColumnRenamed("user_id", "author_id"), "author_id", "left_anti"
        )
    if user_shares is not None:  # every day's rows, not the span's: a person's cuts are the same in every chunk
        kept = events.where(F.col("event_type").isin(*kinds) & F.col("post_id").isNotNull())
        examples = examples.join(_user_cuts(kept, *user_shares), "user_id", "left")
    examples = examples.withColumn("features_as_of_date", F.date_sub("event_date", int(as_of_offset_days)))
    n_user = len(user_feature_names(windows_days=windows_days, categories=categories))
    n_item = len(item_feature_names(velocity_hours=velocity_hours))
    uf = user_features.select(
        "user_id",
        F.col("as_of_date").alias("features_as_of_date"),
        user_feature_vector(windows_days=windows_days, categories=categories).alias("_uvec"),
        F.col("last_event_ts").alias("user_features_ts"),
    )
    itf = item_features.select(
        "post_id",
        F.col("as_of_date").alias("features_as_of_date"),
        item_feature_vector(velocity_hours=velocity_hours).alias("_ivec"),
        F.col("last_event_ts").alias("item_features_ts"),
    )
    joined = with_end_date(
        examples.join(uf, ["user_id", "features_as_of_date"], "left").join(
            itf, ["post_id", "features_as_of_date"], "left"
        ),
        events,
    )
    positive = F.coalesce(F.col("_engaged"), F.lit(False)) | (F.coalesce(F.col("dwell_ms"), F.lit(0)) >= label_dwell_ms)
    return joined.select(
        "event_id",
        "user_id",
        "post_id",
        "author_id",
        "category",
        "hashtags",
        "ts",
        positive.cast("int").alias("label"),
        F.lit(1.0).alias("weight"),
        (
            _split(test_days=test_days, validation_days=validation_days)
            if user_shares is None
            else F.when(F.col("ts") >= F.col("_test_cut"), "test")
            .when(F.col("ts") >= F.col("_val_cut"), "val")
            .otherwise("train")
        ).alias("split"),
        "device",
        F.hour("ts").cast("int").alias("hour"),
        F.dayofweek("ts").cast("int").alias("dow"),
        F.col("dwell_ms").cast("bigint").alias("dwell_ms"),
        ((micros("ts") - micros("created_at")) / F.lit(3_600_000_000.0)).alias("post_age_hours"),
        "features_as_of_date",
        F.coalesce(F.col("_uvec"), _zeros(n_user)).alias("user_features"),
        F.coalesce(F.col("_ivec"), _zeros(n_item)).alias("item_features"),
        "user_features_ts",
        "item_features_ts",
        "event_date",
    )


def _zeros(n: int) -> Column:
    from pyspark.sql import functions as F

    return F.array(*[F.lit(0.0) for _ in range(n)])


def _split(*, test_days: int, validation_days: int) -> Column:
    """'test' for the last ``test_days`` dates up to ``_end``, 'val' for the ``validation_days`` before."""
    from pyspark.sql import functions as F

    behind = F.datediff(F.col("_end"), F.col("event_date"))
    return (
        F.when(behind < test_days, F.lit("test"))
        .when(behind < test_days + validation_days, F.lit("val"))
        .otherwise(F.lit("train"))
    )


def _user_cuts(rows: DataFrame, val_share: float, test_share: float) -> DataFrame:
    """Per person, the first test and first val timestamp: ``recsys.ratings.per_user_split``'s cuts, in Spark."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    n = F.count(F.lit(1)).over(Window.partitionBy("user_id"))
    ranked = rows.select("user_id", "ts").withColumn(
        "_i", F.row_number().over(Window.partitionBy("user_id").orderBy("ts")) - 1
    )
    ranked = ranked.withColumn("_n", n)
    test_at = F.least(F.floor(F.col("_n") * (1 - test_share)), F.col("_n") - 1)
    val_at = F.least(F.floor(F.col("_n") * (1 - test_share - val_share)), F.col("_n") - 1)
    return ranked.groupBy("user_id").agg(
        F.min(F.when(F.col("_i") == test_at, F.col("ts"))).alias("_test_cut"),
        F.min(F.when(F.col("_i") == val_at, F.col("ts"))).alias("_val_cut"),
    )


def explain_source(examples_from: ExamplesFrom) -> None:
    """Log, once per run, what a training example is: a labelled view, or (no views in the lake) an engagement."""
    kinds = ", ".join(ENGAGEMENT_TYPES)
    log.info(
        "features: training examples: %s; negatives: posts the trainer samples (in-batch, train.random_negatives)",
        f"positives are views followed by a {kinds} or a long dwell (the other views are labelled 0)"
        if examples_from == "views"
        else f"silver.events has no view events, so the rows are its {kinds} events of posts, each a positive",
    )


def build_training_examples(
    spark: SparkSession,
    lake: Lake,
    fc: FeaturesConfig,
    *,
    categories: list[str],
    since: str | None = None,
    until: str | None = None,
    examples_from: ExamplesFrom = "views",
) -> int:
    """Read silver and the feature snapshots, write gold.training_examples (all, or ``event_date`` in the range).

    Args:
        spark: the session.
        lake: the lake read from and written to.
        fc: the ``features`` section.
        categories: the sorted category vocabulary (user vector layout).
        since: ISO date of the first event date to rewrite; None rewrites the table.
        until: ISO date of the last event date to write (a chunk of a full build); None: the last event date.
        examples_from: what a row is, decided once per run over the whole of silver.events (every chunk of a build
            labels the same way): ``views``, or ``engagements`` for a lake without view events.

    Returns:
        The number of examples written.
    """
    df = training_examples(
        lake.read(spark, "silver.events"),
        read_posts(spark, lake),
        lake.read(spark, "gold.user_features"),
        lake.read(spark, "gold.item_features"),
        windows_days=fc.windows_days,
        categories=categories,
        velocity_hours=fc.velocity_hours,
        session_gap_minutes=fc.session_gap_minutes,
        label_dwell_ms=fc.label_dwell_ms,
        test_days=fc.test_days,
        validation_days=fc.validation_days,
        since=since,
        until=until,
        risky=risky_accounts(spark, lake),
        examples_from=examples_from,
        user_shares=(fc.user_validation_share, fc.user_test_share) if fc.split_by == "user_time" else None,
    )
    return write_partitions(spark, lake, df, TRAINING_EXAMPLES.name, column="event_date", since=since, until=until)

"""gold.account_risk: a rule-based bot/spam score per account from behaviour and follow patterns.

The score is unsupervised: every component is a ramp over a behavioural feature whose bounds are
set from what human use looks like (dwell of seconds, a few likes per dozen views, follows spread
over days, followers roughly matching followees), never fitted to labels. Components:

* ``coordination``: share of an account's follows made while at least ``min_others`` other accounts
  followed the same target within +/- ``window_minutes`` and far above that target's usual rate;
* ``follow_burst``: share of its follows made in its busiest hour;
* ``dwell_geomean_ms`` (geometric mean of view dwell): bots skim (sub-second views);
* ``like_rate``: likes per view;
* ``followee_follower_ratio``: accounts followed per follower gained.

The score is the weighted mean of the components that have enough evidence (an account with no
views, or views without dwell times, has no dwell component), so it stays in [0, 1]; an account with fewer
than ``MIN_COMPONENTS`` such components scores 0 (one behaviour alone is no case against it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialflywheel.lake.catalog.stages import ACCOUNT_RISK

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake

# (feature, low, high, weight, evidence column, least evidence): the component is 0 at or below `low`
# and 1 at or above `high` (reversed when low > high); it is left out with too little evidence.
MIN_COMPONENTS = 2
"""Components with evidence an account needs before it can score above 0."""

COMPONENTS: tuple[tuple[str, float, float, float, str, int], ...] = (
    ("coordination", 0.1, 0.5, 3.0, "follows", 5),
    ("follow_burst", 0.2, 0.6, 1.5, "follows", 10),
    ("dwell_geomean_ms", 3000.0, 1500.0, 2.0, "views", 5),
    ("like_rate", 0.2, 0.4, 1.5, "views", 5),
    ("followee_follower_ratio", 5.0, 20.0, 1.5, "follows", 10),
)


def _ramp(x: Column, low: float, high: float) -> Column:
    from pyspark.sql import functions as F

    unit = (x - F.lit(low)) / F.lit(high - low)
    return F.least(F.greatest(unit, F.lit(0.0)), F.lit(1.0))


def follow_coordination(events: DataFrame, *, window_minutes: int, min_others: int) -> DataFrame:
    """Per follower: follows made, share made in its busiest hour, and share made in a coordinated wave.

    A follow is coordinated when at least ``min_others`` other follows of the same target fall within
    +/- ``window_minutes`` and that count is at least five times what the target's own average rate
    over the whole period would give (so a popular account's steady stream of followers is not a wave).

    Args:
        events: silver.events (only ``follow`` events are used).
        window_minutes: half-width of the coordination window.
        min_others: other follows of the target needed inside the window.

    Returns:
        ``user_id, follows, follow_burst, coordination``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    half = window_minutes * 60
    f = events.filter(F.col("event_type") == "follow").select(
        "user_id", "target_user_id", F.col("ts").cast("long").alias("ts_s")
    )
    span = f.agg((F.max("ts_s") - F.min("ts_s") + F.lit(1)).alias("span_s"))
    near = Window.partitionBy("target_user_id").orderBy("ts_s").rangeBetween(-half, half)
    every = Window.partitionBy("target_user_id")
    f = (
        f.withColumn("others", F.count(F.lit(1)).over(near) - F.lit(1))
        .withColumn("target_follows", F.count(F.lit(1)).over(every))
        .crossJoin(F.broadcast(span))
    )
    expected = (F.col("target_follows") - F.lit(1)) * F.lit(2.0 * half) / F.col("span_s")
    f = f.withColumn(
        "coordinated",
        ((F.col("others") >= F.lit(min_others)) & (F.col("others") >= F.lit(5.0) * expected)).cast("int"),
    )
    per_hour = (
        f.groupBy("user_id", F.floor(F.col("ts_s") / F.lit(3600)).alias("hour"))
        .agg(F.count(F.lit(1)).alias("n"))
        .groupBy("user_id")
        .agg(F.max("n").alias("busiest_hour"))
    )
    per_user = f.groupBy("user_id").agg(F.count(F.lit(1)).alias("follows"), F.sum("coordinated").alias("coordinated"))
    return per_user.join(per_hour, "user_id").select(
        "user_id",
        "follows",
        (F.col("busiest_hour") / F.col("follows")).cast("double").alias("follow_burst"),
        (F.col("coordinated") / F.col("follows")).cast("double").alias("coordination"),
    )


def account_risk(
    events: DataFrame, follows: DataFrame, *, window_minutes: int, min_others: int, threshold: float
) -> DataFrame:
    """Score every account seen in events; ``is_risky`` when the score exceeds ``threshold``.

    Args:
        events: silver.events.
        follows: silver.follows (current edges; gives follower counts).
        window_minutes: half-width of the coordination window (``features.risk_coordination_minutes``).
        min_others: other follows of a target that make a wave (``features.risk_coordination_min_others``).
        threshold: ``features.risk_threshold``.

    Returns:
        Rows of the gold.account_risk schema.
    """
    from pyspark.sql import functions as F

    behaviour = events.groupBy("user_id").agg(
        F.count(F.lit(1)).alias("events"),
        F.sum((F.col("event_type") == "view").cast("long")).alias("views"),
        F.sum((F.col("event_type") == "like").cast("long")).alias("likes"),
        # Geometric mean, not percentile_approx: exact and the same on every engine (CPU, GPU, Sail).
        F.exp(F.avg(F.when(F.col("event_type") == "view", F.log1p(F.col("dwell_ms").cast("double"))))).alias(
            "dwell_geomean_ms"
        ),
    )
    followers = follows.groupBy(F.col("followee_id").alias("user_id")).agg(F.count(F.lit(1)).alias("followers"))
    followees = follows.groupBy(F.col("follower_id").alias("user_id")).agg(F.count(F.lit(1)).alias("followees"))
    coord = follow_coordination(events, window_minutes=window_minutes, min_others=min_others)
    df = (
        behaviour.join(coord, "user_id", "left")
        .join(followers, "user_id", "left")
        .join(followees, "user_id", "left")
        .fillna(0, subset=["follows", "followers", "followees"])
        .withColumn("like_rate", (F.col("likes") / F.greatest(F.col("views"), F.lit(1))).cast("double"))
        .withColumn("followee_follower_ratio", (F.col("followees") / (F.col("followers") + F.lit(1))).cast("double"))
    )
    num = F.lit(0.0)
    den = F.lit(0.0)
    components = F.lit(0)
    for feature, low, high, weight, evidence, least in COMPONENTS:
        # A feature the data cannot give (views without dwell times) is no evidence: the ramp would read it as 0.
        has = (F.col(evidence) >= F.lit(least)) & F.col(feature).isNotNull()
        num = num + F.when(has, _ramp(F.col(feature), low, high) * F.lit(weight)).otherwise(F.lit(0.0))
        den = den + F.when(has, F.lit(weight)).otherwise(F.lit(0.0))
        components = components + has.cast("int")
    # One behaviour alone is no case against an account: a rating data set (a view and a like per rating, no
    # dwell, no follows) would flag every keen rater on its like rate (891 of MovieLens 100K's 944 people).
    score = F.when(components >= F.lit(MIN_COMPONENTS), num / den).otherwise(F.lit(0.0))
    return df.withColumn("score", score.cast("double")).select(
        "user_id",
        F.col("events").cast("long"),
        F.col("views").cast("long"),
        F.col("follows").cast("long"),
        F.col("followers").cast("long"),
        "dwell_geomean_ms",
        "like_rate",
        "follow_burst",
        "coordination",
        "followee_follower_ratio",
        "score",
        (F.col("score") > F.lit(threshold)).alias("is_risky"),
    )


def build_account_risk(spark: SparkSession, lake: Lake, fc: FeaturesConfig) -> int:
    """Score every account from silver.events and silver.follows into gold.account_risk (overwrite).

    Returns:
        Rows written.
    """
    out = account_risk(
        lake.read(spark, "silver.events"),
        lake.read(spark, "silver.follows"),
        window_minutes=fc.risk_coordination_minutes,
        min_others=fc.risk_coordination_min_others,
        threshold=fc.risk_threshold,
    )
    lake.overwrite(out, ACCOUNT_RISK.name)
    return lake.read(spark, ACCOUNT_RISK.name).count()


def risky_accounts(spark: SparkSession, lake: Lake, *, threshold: float | None = None) -> DataFrame | None:
    """The ``user_id`` of every risky account, or None before gold.account_risk exists (nobody is excluded then).

    The one definition of "risky" that features, training examples and the graph stage share.

    Args:
        spark: The session.
        lake: The lake holding gold.account_risk.
        threshold: None takes the table's ``is_risky`` flag (``score > features.risk_threshold`` when it was
            written); a number compares ``score`` with it instead (``graph.risk_threshold``).
    """
    from pyspark.sql import functions as F

    if not lake.exists(ACCOUNT_RISK.name):
        return None
    risk = lake.read(spark, ACCOUNT_RISK.name)
    risky = F.col("is_risky") if threshold is None else F.col("score") > F.lit(threshold)
    return risk.where(risky).select("user_id")


def without_risky(df: DataFrame, risky: DataFrame | None, *, user_col: str = "user_id") -> DataFrame:
    """Rows of ``df`` whose ``user_col`` is not a risky account (all rows when ``risky`` is None)."""
    if risky is None:
        return df
    return df.join(risky.withColumnRenamed("user_id", user_col), user_col, "left_anti")

"""gold.user_features: a daily point-in-time snapshot of every person's behaviour (as_of_date partitions).

A row at ``as_of_date = D`` uses only events of days ``<= D`` (``ts < D + 1 day``). Windowed
features live in maps keyed by the window (``"7d"``) or by event type and window (``"view_7d"``), so
the schema does not depend on ``features.windows_days``; the longest window is used for dwell,
category affinity and ad CTR. ``category_affinity`` is aligned with the sorted category vocabulary
recorded in gold.features_watermark (``categories``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from socialflywheel.features.coverage import read_posts
from socialflywheel.features.partitions import count_range, replace_range
from socialflywheel.features.windows import (
    Bucket,
    Span,
    date_grid,
    follow_counts,
    gap_days,
    in_bucket,
    safe_ratio,
    sessionize,
    with_end_date,
)
from socialflywheel.lake.catalog import ENGAGEMENT_TYPES, EVENT_TYPES
from socialflywheel.lake.catalog.stages import USER_FEATURES as USER_FEATURES  # re-exported for features.job

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import Column, DataFrame, SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake


def user_features(
    events: DataFrame,
    posts: DataFrame,
    *,
    windows_days: list[int],
    categories: list[str],
    session_gap_minutes: int = 30,
    since: str | None = None,
    until: str | None = None,
    bucket: Bucket | None = None,
) -> DataFrame:
    """Daily user snapshots from silver events and posts (pure: no reads, no writes).

    With ``since``, the snapshots of days ``since``..``until`` are built from the events of those days and the
    lookback the windows need (the longest window, and the days a session gap can span before it), plus one
    aggregate per person over the earlier days (their first day and last event), so a chunk of a full build reads
    and holds O(chunk + people), not O(lake). The chunks of a build equal the build in one piece, row for row.

    Args:
        events: silver.events (any subset of days; snapshots run to its last event date, or ``until``).
        posts: silver.posts (post_id -> category, for the affinity vector).
        windows_days: window lengths in days (the longest also serves dwell, affinity and CTR).
        categories: the category vocabulary, sorted; positions of ``category_affinity``.
        session_gap_minutes: inactivity that starts a new session.
        since: ISO date; only snapshots with ``as_of_date >= since`` are built (incremental runs, chunks).
        until: ISO date; only snapshots with ``as_of_date <= until`` are built (chunks of a full build).
        bucket: only the people whose id hashes to this bucket (``in_bucket``): every snapshot is one person's, so
            the buckets of a build are disjoint pieces of it, each holding its share of the people.

    Returns:
        The gold.user_features columns.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    span = Span.of(since, until)
    wins = sorted({int(w) for w in windows_days})
    longest = wins[-1]
    cats = list(categories)
    # A session flag looks back one gap: the days a gap can span before the first window day are read too.
    lookback = longest - 1 + gap_days(session_gap_minutes)
    everyone = events
    if bucket is not None:
        events = events.where(in_bucket("user_id", bucket))
    recent = span.bound(events, lookback_days=lookback)
    tagged = sessionize(recent, gap_minutes=session_gap_minutes).join(
        posts.select("post_id", F.col("category").alias("_category")), "post_id", "left"
    )
    engaged = F.col("event_type").isin(*ENGAGEMENT_TYPES)
    aggs: list[Column] = [F.sum((F.col("event_type") == t).cast("bigint")).alias(f"n_{t}") for t in EVENT_TYPES]
    aggs += [F.sum((engaged & (F.col("_category") == c)).cast("bigint")).alias(f"c_{i}") for i, c in enumerate(cats)]
    aggs += [F.sum("session_start").cast("bigint").alias("n_sessions"), F.max("ts").alias("day_last_ts")]
    daily = tagged.groupBy("user_id", "event_date").agg(*aggs)

    follows = follow_counts(everyone, span, bucket)  # followers come from anybody's follows
    people = daily.groupBy("user_id").agg(F.min("event_date").alias("_start"))
    by_user = Window.partitionBy("user_id").orderBy("as_of_date")
    last_seen = F.max("day_last_ts").over(by_user.rowsBetween(Window.unboundedPreceding, 0))
    carried: list[str] = []
    if span.since is not None:  # people seen before the lookback: their grid starts with it, their last event carries
        first_read = F.lit(span.since - timedelta(days=lookback))
        earlier = (
            events.where(F.col("event_date") < first_read).groupBy("user_id").agg(F.max("ts").alias("_last_before"))
        )
        people = people.join(earlier, "user_id", "full").select(
            "user_id",
            F.when(F.col("_last_before").isNotNull(), first_read).otherwise(F.col("_start")).alias("_start"),
            "_last_before",
        )
        last_seen = F.greatest(F.col("_last_before"), last_seen)
        carried = ["_last_before"]
    grid = date_grid(with_end_date(people, everyone, span.until), key="user_id", start_col="_start", keep=carried)
    day_cols = [f"n_{t}" for t in EVENT_TYPES] + [f"c_{i}" for i in range(len(cats))] + ["n_sessions"]
    base = (
        grid.join(daily.withColumnRenamed("event_date", "as_of_date"), ["user_id", "as_of_date"], "left")
        .withColumn("_active", F.col("day_last_ts").isNotNull().cast("bigint"))
        .fillna(0, subset=day_cols)
    )

    def over(col: str, w: int) -> Column:
        return F.sum(col).over(by_user.rowsBetween(-(w - 1), 0))

    wide = base.select(
        "user_id",
        "as_of_date",
        *[over(f"n_{t}", w).alias(f"n_{t}_{w}") for t in EVENT_TYPES for w in wins],
        *[over("_active", w).alias(f"active_{w}") for w in wins],
        *[over("n_sessions", w).alias(f"sessions_{w}") for w in wins],
        *[over(f"c_{i}", longest).alias(f"c_{i}_{longest}") for i in range(len(cats))],
        last_seen.alias("last_event_ts"),
    )
    wide = span.keep(wide)

    def n(t: str, w: int) -> Column:
        return F.col(f"n_{t}_{w}")

    def engaged_in(w: int) -> Column:
        return sum((n(t, w) for t in ENGAGEMENT_TYPES), F.lit(0).cast("bigint"))

    cat_total = sum((F.col(f"c_{i}_{longest}") for i in range(len(cats))), F.lit(0).cast("bigint"))
    out = wide.select(
        "user_id",
        "as_of_date",
        F.create_map(
            *[x for t in EVENT_TYPES for w in wins for x in (F.lit(f"{t}_{w}d"), n(t, w).cast("bigint"))]
        ).alias("event_counts"),
        F.create_map(*[x for w in wins for x in (F.lit(f"{w}d"), safe_ratio(engaged_in(w), n("view", w)))]).alias(
            "engagement_rate"
        ),
        F.create_map(*[x for w in wins for x in (F.lit(f"{w}d"), F.col(f"active_{w}").cast("bigint"))]).alias(
            "active_days"
        ),
        F.create_map(*[x for w in wins for x in (F.lit(f"{w}d"), F.col(f"sessions_{w}").cast("bigint"))]).alias(
            "sessions"
        ),
        F.datediff(F.col("as_of_date"), F.to_date("last_event_ts")).alias("days_since_last_event"),
        "last_event_ts",
        F.array(*[safe_ratio(F.col(f"c_{i}_{longest}"), cat_total) for i in range(len(cats))]).alias(
            "category_affinity"
        ),
        safe_ratio(n("ad_click", longest), n("ad_impression", longest)).alias("ad_ctr"),
    )
    dwell = _dwell_stats(recent, window=longest, span=span, everyone=everyone)
    # The narrow tables on the left: an engine builds its hash table from the left side of a join and streams the
    # right, so the wide snapshot rows (maps, the affinity array) stream instead of being held whole (at 1M events
    # the other order held 3.3 GB, this 1.2 GB).
    keys = ["user_id", "as_of_date"]
    return (
        follows.join(dwell.join(out, keys, "right"), keys, "right")
        .fillna(0, subset=["followers", "followees"])
        .select(*USER_FEATURES.column_names)
    )


def _dwell_stats(events: DataFrame, *, window: int, span: Span, everyone: DataFrame | None = None) -> DataFrame:
    """Mean, p50 and p90 of view dwell over the ``window`` days ending at each as-of date (exact).

    Each person's views are collected once per day; a ``window``-row frame over their contiguous date
    grid gathers the days of each snapshot, so the data is never copied ``window`` times into a
    grouped aggregate (that spread held 24 GB at 20M events). Percentiles are order statistics: the
    smallest value with at least ``p`` of the values at or below it (element ``ceil(p * n)``), the
    value ``percentile_approx`` converges to.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    views = span.bound(events, lookback_days=window - 1)
    views = views.where((F.col("event_type") == "view") & F.col("dwell_ms").isNotNull())
    daily = views.groupBy("user_id", "event_date").agg(
        F.collect_list(F.col("dwell_ms").cast("double")).alias("_d"),
        F.sum(F.col("dwell_ms").cast("double")).alias("_s"),
        F.count("dwell_ms").alias("_n"),
    )
    ends = events if everyone is None else everyone  # the last event date of the lake, not of some people's events
    starts = with_end_date(daily.groupBy("user_id").agg(F.min("event_date").alias("_start")), ends, span.until)
    grid = date_grid(starts, key="user_id", start_col="_start")
    frame = Window.partitionBy("user_id").orderBy("as_of_date").rowsBetween(-(window - 1), 0)
    rolled = (
        grid.join(daily.withColumnRenamed("event_date", "as_of_date"), ["user_id", "as_of_date"], "left")
        .select(
            "user_id",
            "as_of_date",
            F.sum("_s").over(frame).alias("_s"),
            F.sum("_n").over(frame).alias("_n"),
            # days without views hold an empty list, never null: flatten of a list holding null is null
            F.collect_list(F.coalesce("_d", F.array().cast("array<double>"))).over(frame).alias("_days"),
        )
        .where(F.col("_n") > 0)
    )
    rolled = span.keep(rolled)
    values = F.sort_array(F.flatten(F.col("_days")))  # SortArray: on the GPU in every RAPIDS release

    def order_statistic(p: float) -> Column:
        rank = F.greatest(F.lit(1), F.ceil(F.col("_n") * F.lit(p)).cast("int"))
        return F.element_at(F.col("_v"), rank)

    return rolled.select("user_id", "as_of_date", "_s", "_n", values.alias("_v")).select(
        "user_id",
        "as_of_date",
        (F.col("_s") / F.col("_n")).alias("dwell_mean"),
        order_statistic(0.5).alias("dwell_p50"),
        order_statistic(0.9).alias("dwell_p90"),
    )


def user_feature_names(*, windows_days: list[int], categories: list[str]) -> list[str]:
    """Names of the positions of the ``user_features`` vector in gold.training_examples."""
    wins = sorted({int(w) for w in windows_days})
    names = [f"log1p_{t}_{w}d" for t in EVENT_TYPES for w in wins]
    names += [f"engagement_rate_{w}d" for w in wins] + [f"active_days_{w}d" for w in wins]
    names += [f"log1p_sessions_{w}d" for w in wins]
    names += ["log1p_dwell_mean", "log1p_dwell_p50", "log1p_dwell_p90", "days_since_last_event"]
    names += ["log1p_followers", "log1p_followees", "ad_ctr"]
    return names + [f"affinity_{c}" for c in categories]


def user_feature_vector(*, windows_days: list[int], categories: list[str]) -> Column:
    """The ``array<double>`` of :func:`user_feature_names` over gold.user_features columns (nulls as 0)."""
    from pyspark.sql import functions as F

    wins = sorted({int(w) for w in windows_days})

    def log1p(c: Column) -> Column:
        return F.log1p(F.coalesce(c.cast("double"), F.lit(0.0)))

    def num(c: Column) -> Column:
        return F.coalesce(c.cast("double"), F.lit(0.0))

    days = [f"{w}d" for w in wins]
    maps = [
        _map_values("event_counts", [f"{t}_{w}" for t in EVENT_TYPES for w in days], log1p),
        _map_values("engagement_rate", days, num),
        _map_values("active_days", days, num),
        _map_values("sessions", days, log1p),
    ]
    parts = [log1p(F.col(c)) for c in ("dwell_mean", "dwell_p50", "dwell_p90")]
    parts += [num(F.col("days_since_last_event")), log1p(F.col("followers")), log1p(F.col("followees"))]
    parts += [num(F.col("ad_ctr"))]
    parts += [num(F.col("category_affinity")[i]) for i in range(len(categories))]
    return F.concat(*maps, F.array(*parts))


def _map_values(name: str, keys: list[str], fn: Callable[[Column], Column]) -> Column:
    """``[fn(m[k]) for k in keys]`` of a map column ``m``, as an array.

    Where a row's map holds exactly ``keys`` in that order (every row the job writes), its values are taken by
    position: Sail's cost of looking up many keys of one map in one projection grows with the square of their
    number (33 lookups of event_counts over 1M snapshots took 62 s, the positions 8 s, the same values).
    """
    from pyspark.sql import functions as F

    m = F.col(name)
    values = F.map_values(m)
    in_order = F.array(*[fn(values[i]) for i in range(len(keys))])
    looked_up = F.array(*[fn(m[k]) for k in keys])
    return F.when(F.map_keys(m) == F.array(*[F.lit(k) for k in keys]), in_order).otherwise(looked_up)


def build_user_features(
    spark: SparkSession,
    lake: Lake,
    fc: FeaturesConfig,
    *,
    categories: list[str],
    since: str | None = None,
    until: str | None = None,
    buckets: int = 1,
) -> int:
    """Read silver events and posts, write gold.user_features (every snapshot, or those of ``since``..``until``).

    Args:
        spark: the session.
        lake: the lake read from and written to.
        fc: the ``features`` section.
        categories: the sorted category vocabulary.
        since: ISO date of the first snapshot to rewrite; None rewrites the table.
        until: ISO date of the last snapshot to write (a chunk of a full build); None: the last event date.
        buckets: the people are built in this many pieces (by a hash of their id), each written after the last:
            memory holds one piece's snapshots (at 10M events, 500k people, one piece held 18 GB).

    Returns:
        The number of snapshot rows written.
    """
    for b in range(buckets):
        df = user_features(
            lake.read(spark, "silver.events"),
            read_posts(spark, lake),
            windows_days=fc.windows_days,
            categories=categories,
            session_gap_minutes=fc.session_gap_minutes,
            since=since,
            until=until,
            bucket=(b, buckets) if buckets > 1 else None,
        )
        if b == 0:  # the first piece replaces the range; the others add their people to it
            replace_range(lake, df, USER_FEATURES.name, column="as_of_date", since=since, until=until)
        else:
            lake.append(df, USER_FEATURES.name)
    return count_range(spark, lake, USER_FEATURES.name, column="as_of_date", since=since, until=until)

"""Shared point-in-time helpers: as-of date grids, sessions, follow intervals and follow counts.

Convention used by every feature table: a snapshot ``as_of_date = D`` uses exactly the events with
``event_date <= D`` (equivalently ``ts < D + 1 day``, UTC), so the snapshot at ``D - 1`` is safe to
join to any event of day ``D``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

"""Event types that count as engaging with a post (the numerator of engagement rates and labels)."""


def micros(col: str | Column) -> Column:
    """Microseconds since the epoch of a timestamp column (exact, engine independent)."""
    from pyspark.sql import functions as F

    return F.unix_micros(F.col(col) if isinstance(col, str) else col)


def cutoff_ts(as_of: str | Column) -> Column:
    """The first instant after an as-of date (``as_of + 1 day`` at 00:00 UTC): snapshots see events before it."""
    from pyspark.sql import functions as F

    day = F.col(as_of) if isinstance(as_of, str) else as_of
    return F.to_timestamp(F.date_add(day, 1))


def with_end_date(df: DataFrame, events: DataFrame) -> DataFrame:
    """Add ``_end``: the last event date present in ``events`` (the newest snapshot date)."""
    from pyspark.sql import functions as F

    return df.crossJoin(events.agg(F.max("event_date").alias("_end")))


def date_grid(starts: DataFrame, *, key: str, start_col: str, end_col: str = "_end") -> DataFrame:
    """One row per ``key`` and date from its ``start_col`` to ``end_col`` inclusive, as ``as_of_date``.

    Args:
        starts: one row per key with a start date and an end date column.
        key: the entity column (user or post id).
        start_col: first as-of date of the key.
        end_col: last as-of date of the key.

    Returns:
        ``key, as_of_date`` with contiguous dates per key (so row windows are day windows).
    """
    from pyspark.sql import functions as F

    days = F.datediff(F.col(end_col), F.col(start_col))
    return (
        starts.where(F.col(start_col) <= F.col(end_col))
        .select(key, start_col, F.explode(F.sequence(F.lit(0), days)).alias("_offset"))
        .select(key, F.date_add(F.col(start_col), F.col("_offset").cast("int")).alias("as_of_date"))
    )


def sessionize(events: DataFrame, *, gap_minutes: int) -> DataFrame:
    """Add ``session_start`` (1/0): the user's first event, or one after ``gap_minutes`` of inactivity.

    A flag depends only on the event and the user's previous event, never on later ones.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    order = Window.partitionBy("user_id").orderBy("ts", "event_id")
    prev = F.lag(micros("ts")).over(order)
    gap = F.lit(int(gap_minutes) * 60_000_000)
    return events.withColumn("session_start", F.when(prev.isNull() | (micros("ts") - prev > gap), 1).otherwise(0))


def _follow_acts(events: DataFrame) -> DataFrame:
    """Follow and unfollow events between two different people, ordered per pair (unfollow wins ties)."""
    from pyspark.sql import functions as F

    return events.where(
        F.col("event_type").isin("follow", "unfollow")
        & F.col("user_id").isNotNull()
        & F.col("target_user_id").isNotNull()
        & (F.col("user_id") != F.col("target_user_id"))
    ).select(
        F.col("user_id").alias("follower_id"),
        F.col("target_user_id").alias("followee_id"),
        "ts",
        "event_date",
        "event_type",
        "event_id",
    )


def follow_intervals(events: DataFrame) -> DataFrame:
    """Periods during which one person followed another: ``follower_id, followee_id, start_ts, end_ts``.

    ``end_ts`` is the time of the pair's next act (an unfollow, or a repeated follow that opens the
    next interval); null while the follow is still current. Active at ``t`` when ``start_ts < t`` and
    (``end_ts`` is null or ``t <= end_ts``).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    pair = Window.partitionBy("follower_id", "followee_id").orderBy("ts", "event_type", "event_id")
    return (
        _follow_acts(events)
        .withColumn("end_ts", F.lead("ts").over(pair))
        .where(F.col("event_type") == "follow")
        .select("follower_id", "followee_id", F.col("ts").alias("start_ts"), "end_ts")
    )


def follow_counts(events: DataFrame) -> DataFrame:
    """Followers and followees of every person as of each date, from follow/unfollow events only.

    Returns:
        ``user_id, as_of_date, followers, followees`` for every date from the person's first follow
        change to the last event date, contiguous; a pair counts when its last act up to the end of
        ``as_of_date`` is a follow (same tie rule as silver.follows: unfollow wins).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    acts = _follow_acts(events)
    last_of_day = Window.partitionBy("follower_id", "followee_id", "event_date").orderBy(
        F.col("ts").desc(), F.col("event_type").desc(), F.col("event_id").desc()
    )
    states = (
        acts.withColumn("_rn", F.row_number().over(last_of_day))
        .where(F.col("_rn") == 1)
        .select("follower_id", "followee_id", "event_date", (F.col("event_type") == "follow").cast("int").alias("s"))
    )
    pair = Window.partitionBy("follower_id", "followee_id").orderBy("event_date")
    deltas = states.withColumn("delta", F.col("s") - F.lag("s", 1, 0).over(pair)).where(F.col("delta") != 0)
    per_day = (
        deltas.select(
            F.col("followee_id").alias("user_id"), "event_date", F.col("delta").alias("d_in"), F.lit(0).alias("d_out")
        )
        .unionByName(
            deltas.select(
                F.col("follower_id").alias("user_id"),
                "event_date",
                F.lit(0).alias("d_in"),
                F.col("delta").alias("d_out"),
            )
        )
        .groupBy("user_id", "event_date")
        .agg(F.sum("d_in").alias("d_in"), F.sum("d_out").alias("d_out"))
    )
    starts = with_end_date(per_day.groupBy("user_id").agg(F.min("event_date").alias("_start")), events)
    grid = date_grid(starts, key="user_id", start_col="_start")
    running = Window.partitionBy("user_id").orderBy("as_of_date").rowsBetween(Window.unboundedPreceding, 0)
    joined = grid.join(per_day.withColumnRenamed("event_date", "as_of_date"), ["user_id", "as_of_date"], "left").fillna(
        0, subset=["d_in", "d_out"]
    )
    return joined.select(
        "user_id",
        "as_of_date",
        F.sum("d_in").over(running).cast("bigint").alias("followers"),
        F.sum("d_out").over(running).cast("bigint").alias("followees"),
    )


def safe_ratio(num: Column, den: Column) -> Column:
    """``num / den`` as a double, 0.0 when the denominator is 0 or null (a feature, not a statistic)."""
    from pyspark.sql import functions as F

    return F.when(den > 0, num.cast("double") / den.cast("double")).otherwise(F.lit(0.0))

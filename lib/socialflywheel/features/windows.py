"""Shared point-in-time helpers: as-of date grids, sessions, follow intervals and follow counts.

Convention used by every feature table: a snapshot ``as_of_date = D`` uses exactly the events with
``event_date <= D`` (equivalently ``ts < D + 1 day``, UTC), so the snapshot at ``D - 1`` is safe to
join to any event of day ``D``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
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


def gap_days(minutes: int) -> int:
    """Whole days a gap of ``minutes`` can reach into from an event's day (a session gap, a label window)."""
    return -(-int(minutes) // (24 * 60))


def with_end_date(df: DataFrame, events: DataFrame, end: datetime.date | None = None) -> DataFrame:
    """Add ``_end``: the newest snapshot date, ``end`` when given, else the last event date present in ``events``."""
    from pyspark.sql import functions as F

    if end is not None:
        return df.withColumn("_end", F.lit(end))
    return df.crossJoin(events.agg(F.max("event_date").alias("_end")))


@dataclass(frozen=True)
class Span:
    """The as-of dates one build writes: ``since`` to ``until`` inclusive (None: from the first, to the last).

    A chunk of a full build, or the days an incremental run rewrites. A builder given a span reads the events of
    the span and the lookback its windows need; what it carries from earlier days (running totals, the last event)
    it takes from one aggregate per entity over the earlier events, so its memory grows with the span and the
    number of people and posts, not with the lake.
    """

    since: datetime.date | None = None
    until: datetime.date | None = None

    @classmethod
    def of(cls, since: str | datetime.date | None, until: str | datetime.date | None = None) -> Span:
        """A span from ISO dates or dates (None for an open end)."""

        def day(d: str | datetime.date | None) -> datetime.date | None:
            return datetime.date.fromisoformat(d) if isinstance(d, str) else d

        return cls(day(since), day(until))

    def bound(self, events: DataFrame, *, lookback_days: int = 0) -> DataFrame:
        """``events`` of the span's days, and of the ``lookback_days`` before it."""
        from pyspark.sql import functions as F

        out = events
        if self.since is not None:
            out = out.where(F.col("event_date") >= F.lit(self.since - datetime.timedelta(days=lookback_days)))
        if self.until is not None:
            out = out.where(F.col("event_date") <= F.lit(self.until))
        return out

    def shifted(self, days: int) -> Span:
        """The same span ``days`` earlier (open ends stay open)."""
        back = datetime.timedelta(days=days)
        return Span(*(d - back if d is not None else None for d in (self.since, self.until)))

    def keep(self, df: DataFrame, column: str = "as_of_date") -> DataFrame:
        """Rows of ``df`` whose ``column`` lies in the span."""
        from pyspark.sql import functions as F

        if self.since is not None:
            df = df.where(F.col(column) >= F.lit(self.since))
        if self.until is not None:
            df = df.where(F.col(column) <= F.lit(self.until))
        return df


def date_grid(
    starts: DataFrame, *, key: str, start_col: str, end_col: str = "_end", keep: list[str] | None = None
) -> DataFrame:
    """One row per ``key`` and date from its ``start_col`` to ``end_col`` inclusive, as ``as_of_date``.

    Args:
        starts: one row per key with a start date and an end date column.
        key: the entity column (user or post id).
        start_col: first as-of date of the key.
        end_col: last as-of date of the key.
        keep: more columns of ``starts`` repeated on every date of the key.

    Returns:
        ``key, as_of_date`` (and ``keep``) with contiguous dates per key (so row windows are day windows).
    """
    from pyspark.sql import functions as F

    days = F.datediff(F.col(end_col), F.col(start_col))
    more = list(keep or [])
    return (
        starts.where(F.col(start_col) <= F.col(end_col))
        .select(key, start_col, *more, F.explode(F.sequence(F.lit(0), days)).alias("_offset"))
        .select(key, F.date_add(F.col(start_col), F.col("_offset").cast("int")).alias("as_of_date"), *more)
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


Bucket = tuple[int, int]
"""``(b, n)``: the people whose id hashes to ``b`` of ``n`` buckets (a user-snapshot build in pieces by person)."""


def in_bucket(column: str, bucket: Bucket) -> Column:
    """True for the rows whose ``column`` (a person's id) falls in ``bucket``."""
    from pyspark.sql import functions as F

    b, n = bucket
    return F.pmod(F.xxhash64(F.col(column)), F.lit(n)) == F.lit(b)


def follow_counts(events: DataFrame, span: Span | None = None, bucket: Bucket | None = None) -> DataFrame:
    """Followers and followees of every person as of each date, from follow/unfollow events only.

    Args:
        events: silver events up to the span's end (every earlier day too: a pair's state before the span decides
            whether a follow in it changes a count; only follow and unfollow events are read).
        span: the as-of dates wanted (all when None).
        bucket: only the people of this bucket (their follows read from every pair naming them).

    Returns:
        ``user_id, as_of_date, followers, followees`` for every date from the person's first follow
        change (or the span's first day, when earlier) to the last date, contiguous; a pair counts when its
        last act up to the end of ``as_of_date`` is a follow (same tie rule as silver.follows: unfollow wins).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    span = span or Span()
    acts = _follow_acts(Span(None, span.until).bound(events))  # every earlier day: a pair's state carries
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
    if bucket is not None:
        per_day = per_day.where(in_bucket("user_id", bucket))
    starts = per_day.groupBy("user_id").agg(F.min("event_date").alias("_start"))
    if span.since is not None:  # the counts on the eve of the span, then the span's days from its first
        first = F.lit(span.since)
        before = (
            per_day.where(F.col("event_date") < first)
            .groupBy("user_id")
            .agg(F.sum("d_in").alias("_in0"), F.sum("d_out").alias("_out0"))
        )
        per_day = per_day.where(F.col("event_date") >= first)
        starts = starts.select("user_id", F.greatest(F.col("_start"), first).alias("_start"))
    grid = date_grid(with_end_date(starts, events, span.until), key="user_id", start_col="_start")
    running = Window.partitionBy("user_id").orderBy("as_of_date").rowsBetween(Window.unboundedPreceding, 0)
    joined = grid.join(per_day.withColumnRenamed("event_date", "as_of_date"), ["user_id", "as_of_date"], "left").fillna(
        0, subset=["d_in", "d_out"]
    )
    if span.since is not None:
        joined = joined.join(before, "user_id", "left").fillna(0, subset=["_in0", "_out0"])
        in0, out0 = F.col("_in0"), F.col("_out0")
    else:
        in0 = out0 = F.lit(0)
    return joined.select(
        "user_id",
        "as_of_date",
        (in0 + F.sum("d_in").over(running)).cast("bigint").alias("followers"),
        (out0 + F.sum("d_out").over(running)).cast("bigint").alias("followees"),
    )


def safe_ratio(num: Column, den: Column) -> Column:
    """``num / den`` as a double, 0.0 when the denominator is 0 or null (a feature, not a statistic)."""
    from pyspark.sql import functions as F

    return F.when(den > 0, num.cast("double") / den.cast("double")).otherwise(F.lit(0.0))

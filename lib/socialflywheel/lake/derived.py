"""Silver tables that are functions of silver.events: people (``silver.users``) and current follow edges.

Conform rebuilds them whole from silver.events after every merge. A dated run (``Lake.bounded``) rebuilds them from
the events of the days up to its date instead of filtering today's state, which would count an edge unfollowed
after that day as never having existed, or a person's later events in ``events``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def derive_users(events: DataFrame) -> DataFrame:
    """One row per person in the events: first and last seen, latest country and device, events."""
    from pyspark.sql import functions as F

    return events.groupBy("user_id").agg(
        F.min("ts").alias("first_seen"),
        F.max("ts").alias("last_seen"),
        F.max_by("country", "ts").alias("country"),
        F.max_by("device", "ts").alias("device"),
        F.count(F.lit(1)).alias("events"),
    )


def derive_follows(events: DataFrame) -> DataFrame:
    """Current edges: the latest follow/unfollow per pair decides (ties: unfollow wins, by event_id)."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    acts = events.filter(F.col("event_type").isin("follow", "unfollow")).filter(
        F.col("user_id") != F.col("target_user_id")
    )
    latest = Window.partitionBy("user_id", "target_user_id").orderBy(
        F.col("ts").desc(), F.col("event_type").desc(), F.col("event_id").desc()
    )
    return (
        acts.withColumn("_rn", F.row_number().over(latest))
        .filter((F.col("_rn") == 1) & (F.col("event_type") == "follow"))
        .select(
            F.col("user_id").alias("follower_id"),
            F.col("target_user_id").alias("followee_id"),
            F.col("ts").alias("since"),
        )
    )


# Table -> its derivation from silver.events (read by ``Lake.read`` on a bounded lake).
FROM_EVENTS: dict[str, Callable[[DataFrame], DataFrame]] = {
    "silver.users": derive_users,
    "silver.follows": derive_follows,
}

"""Bronze -> silver: pseudonymize people, deduplicate events, derive users, posts and current follows."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socialflywheel.faults import kill_point
from socialflywheel.lake.catalog import EVENT_SCHEMA, table
from socialflywheel.lake.derived import derive_follows, derive_users
from socialflywheel.lake.storage import remove_tree
from socialflywheel.privacy import suppression
from socialflywheel.privacy.pseudonymize import pseudonymize_udf
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.config.models import PrivacyConfig
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

EVENT_COLUMN_NAMES = list(EVENT_SCHEMA.names)


def pseudonymize_events(bronze: DataFrame, key: bytes) -> DataFrame:
    """Bronze rows -> silver event columns with every person identifier replaced by its pseudonym."""
    from pyspark.sql import functions as F

    pseudo = pseudonymize_udf(key)
    return bronze.select(
        *[pseudo(F.col(c)).alias(c) if c in ("user_id", "target_user_id") else F.col(c) for c in EVENT_COLUMN_NAMES],
        F.col("extras"),
        *[F.col("batch_id")] * ("batch_id" in bronze.columns),  # bookkeeping (rows per batch), not a silver column
    )


def derive_posts(events: DataFrame) -> DataFrame:
    """One row per post from post events (the earliest wins), with the creator-chosen category."""
    from pyspark.sql import functions as F
    from pyspark.sql.window import Window

    posts = events.filter(F.col("event_type") == "post").select(
        "post_id",
        F.col("user_id").alias("author_id"),
        F.col("ts").alias("created_at"),
        F.col("extras").getItem("category").alias("category"),
        F.coalesce(F.col("hashtags"), F.array().cast("array<string>")).alias("hashtags"),
        "text",
        "campaign_id",
    )
    first = Window.partitionBy("post_id").orderBy("created_at", "author_id")
    return posts.withColumn("_rn", F.row_number().over(first)).filter("_rn = 1").drop("_rn")


@dataclass(kw_only=True)
class ConformResult(JobResult):
    """What a conform run did, and the size of silver after it.

    ``rows_in`` counts the bronze rows conformed; ``rows_out`` the events new to silver.events (rows already
    there are not counted).
    """

    batches: int = 0
    """Bronze batches conformed (0: every batch was already in silver)."""
    silver_events: int = 0
    """Rows in silver.events after the run."""
    silver_users: int = 0
    """Rows in silver.users after the run."""
    silver_posts: int = 0
    """Rows in silver.posts after the run."""
    silver_follows: int = 0
    """Rows in silver.follows (current edges) after the run."""


def run_conform(spark: SparkSession, lake: Lake, privacy: PrivacyConfig) -> ConformResult:
    """Conform every batch of rows in bronze.events not yet in silver; rebuild users and follows.

    The work list comes from the batch ids present in bronze.events itself (not from the batch
    records), so rows of a batch killed after its bronze write but before its record are not orphaned.

    Args:
        spark: the session that pseudonymizes and merges.
        lake: bronze in, silver out.
        privacy: the ``privacy`` section (the pseudonymization key comes from its environment variable).

    Returns:
        The batches and rows conformed, and the row counts of the silver tables after the run.
    """
    from pyspark.sql import functions as F

    key = privacy.hmac_key()
    done = {r["batch_id"] for r in lake.read_arrow("silver.conformed_batches", columns=["batch_id"]).to_pylist()}
    present = set(lake.read_arrow("bronze.events", columns=["batch_id"]).column("batch_id").unique().to_pylist())
    todo = sorted(present - done)
    if not todo:
        log.info("conform: every bronze batch is already in silver")
        return _result(lake, batches=0, rows_in=0, rows_out=0)
    with_rows = todo
    bronze = lake.read(spark, "bronze.events").filter(F.col("batch_id").isin(with_rows))
    # People on the suppression list are dropped again here (ingest already keeps them out of bronze).
    conformed = suppression.without_suppressed(pseudonymize_events(bronze, key), key, suppression.tokens(lake))
    staging = f"{lake.root}/_staging/conform-{todo[-1]}-{uuid.uuid4().hex[:8]}"  # unique per run, never shared
    conformed.write.mode("overwrite").parquet(staging)  # the UDF runs once; two writes read the result
    try:
        staged = spark.read.schema(conformed.schema).parquet(staging)  # no file to infer from when 0 rows are left
        per_batch = {
            r["batch_id"]: int(r["n"])
            for r in staged.groupBy("batch_id").count().withColumnRenamed("count", "n").collect()
        }
        rows_in = sum(per_batch.values())
        before = _rows(lake, "silver.events")
        kill_point("conform.after_staging")
        lake.merge(spark, staged.select(*table("silver.events").column_names), "silver.events")
        kill_point("conform.after_events_merge")
        lake.merge(spark, derive_posts(staged), "silver.posts")
    finally:
        remove_tree(staging)
    events = lake.read(spark, "silver.events")
    lake.overwrite(derive_users(events), "silver.users")
    kill_point("conform.after_users")
    lake.overwrite(derive_follows(events), "silver.follows")
    kill_point("conform.before_mark")
    _mark_conformed(lake, {b: per_batch.get(b, 0) for b in todo})
    result = _result(lake, batches=len(todo), rows_in=rows_in, rows_out=_rows(lake, "silver.events") - before)
    log.info("conform: %d batches, %d bronze rows -> %d new silver events", len(todo), rows_in, result.rows_out)
    return result


def _result(lake: Lake, *, batches: int, rows_in: int, rows_out: int) -> ConformResult:
    """The run's figures with the silver tables' row counts as they are now."""
    return ConformResult(
        batches=batches,
        rows_in=rows_in,
        rows_out=rows_out,
        silver_events=_rows(lake, "silver.events"),
        silver_users=_rows(lake, "silver.users"),
        silver_posts=_rows(lake, "silver.posts"),
        silver_follows=_rows(lake, "silver.follows"),
    )


def _mark_conformed(lake: Lake, rows: dict[str, int]) -> None:
    """Record the batches conformed, with the bronze rows each brought (before deduplication against silver)."""
    import pyarrow as pa

    batch_ids = sorted(rows)

    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    lake.write_arrow(
        pa.table(
            {
                "batch_id": batch_ids,
                "conformed_at": pa.array([now] * len(batch_ids), pa.timestamp("us")),
                "rows": pa.array([rows[b] for b in batch_ids], pa.int64()),
            }
        ),
        "silver.conformed_batches",
    )


def _rows(lake: Lake, name: str) -> int:
    from socialflywheel.lake.maintenance import describe

    info = describe(lake, name)
    return 0 if info is None else int(info["rows"])

"""gold.campaign_performance: impressions, clicks, CTR, reach, frequency and engaged users per campaign and day.

Definitions (per campaign and UTC day):

* ``impressions``: ad_impression events; ``clicks``: ad_click events; ``ctr = clicks / impressions``;
* ``reach``: distinct users with an impression; ``frequency = impressions / reach``;
* ``clickers``: distinct users with an ad click;
* ``engaged_users``: distinct users who clicked the ad or liked, shared, commented on or clicked one
  of the campaign's sponsored posts.

Risky accounts are removed before this transform; a row whose reach is under k is suppressed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.lake.catalog.stages import CAMPAIGN_PERFORMANCE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.lake.io import Lake


def campaign_performance(events: DataFrame, posts: DataFrame, *, min_users: int) -> DataFrame:
    """Per (campaign, day) delivery and engagement metrics, k-suppressed on reach.

    Args:
        events: silver.events without risky accounts.
        posts: silver.posts (gives each sponsored post its campaign).
        min_users: k; rows whose reach is below it are dropped.

    Returns:
        Rows of the gold.campaign_performance schema.
    """
    from pyspark.sql import functions as F

    from socialflywheel.features.suppress import suppress_small_groups

    ads = events.filter(F.col("event_type").isin("ad_impression", "ad_click") & F.col("campaign_id").isNotNull())
    ads = ads.select("campaign_id", F.to_date("ts").alias("day"), "user_id", "event_type")
    sponsored = posts.filter(F.col("campaign_id").isNotNull()).select("post_id", "campaign_id")
    organic = (
        events.filter(F.col("event_type").isin(*ENGAGEMENT_TYPES))
        .select("post_id", "user_id", F.to_date("ts").alias("day"))
        .join(F.broadcast(sponsored), "post_id")
        .select("campaign_id", "day", "user_id", F.lit("engage").alias("event_type"))
    )
    rows = ads.unionByName(organic)
    imp = F.col("event_type") == "ad_impression"
    click = F.col("event_type") == "ad_click"
    agg = rows.groupBy("campaign_id", "day").agg(
        F.sum(imp.cast("long")).alias("impressions"),
        F.sum(click.cast("long")).alias("clicks"),
        F.countDistinct(F.when(imp, F.col("user_id"))).alias("reach"),
        F.countDistinct(F.when(click, F.col("user_id"))).alias("clickers"),
        F.countDistinct(F.when(~imp, F.col("user_id"))).alias("engaged_users"),
    )
    out = agg.filter(F.col("impressions") > 0).select(
        "campaign_id",
        "day",
        F.col("impressions").cast("long"),
        F.col("clicks").cast("long"),
        (F.col("clicks") / F.col("impressions")).cast("double").alias("ctr"),
        F.col("reach").cast("long"),
        (F.col("impressions") / F.col("reach")).cast("double").alias("frequency"),
        F.col("clickers").cast("long"),
        F.col("engaged_users").cast("long"),
    )
    return suppress_small_groups(out, user_count_col="reach", k=min_users)


def build_campaign_performance(spark: SparkSession, lake: Lake, *, k: int) -> int:
    """Write gold.campaign_performance (overwrite) from silver, leaving out risky accounts.

    Returns:
        Rows written.
    """
    from socialflywheel.features.risk import risky_accounts, without_risky

    events = without_risky(lake.read(spark, "silver.events"), risky_accounts(spark, lake))
    out = campaign_performance(events, lake.read(spark, "silver.posts"), min_users=k)
    lake.overwrite(out, CAMPAIGN_PERFORMANCE.name)
    return lake.read(spark, CAMPAIGN_PERFORMANCE.name).count()

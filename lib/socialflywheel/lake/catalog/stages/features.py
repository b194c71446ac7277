"""Gold feature tables, written by socialflywheel.features.

Per-person and per-post snapshots, trends, sentiment, segments, risk, campaign delivery, point-in-time training
examples, and the features watermark.
"""

from __future__ import annotations

import pyarrow as pa

from socialflywheel.lake.catalog.table import BOOL, DATE, F64, I32, I64, STR, TS, Table

# written by socialflywheel.features.risk
ACCOUNT_RISK = Table(
    "gold.account_risk",
    pa.schema(
        {
            "user_id": STR,
            "events": I64,
            "views": I64,
            "follows": I64,
            "followers": I64,
            "dwell_geomean_ms": F64,
            "like_rate": F64,
            "follow_burst": F64,
            "coordination": F64,
            "followee_follower_ratio": F64,
            "score": F64,
            "is_risky": BOOL,
        }
    ),
    keys=("user_id",),
    doc="Rule-based bot/spam score in [0,1] per account; is_risky = score > features.risk_threshold.",
    pii_columns=("user_id",),
    writer="features",
)

# written by socialflywheel.features.campaigns
CAMPAIGN_PERFORMANCE = Table(
    "gold.campaign_performance",
    pa.schema(
        {
            "campaign_id": STR,
            "day": DATE,
            "impressions": I64,
            "clicks": I64,
            "ctr": F64,
            "reach": I64,
            "frequency": F64,
            "clickers": I64,
            "engaged_users": I64,
        }
    ),
    keys=("campaign_id", "day"),
    doc="Ad delivery per campaign and day (risky accounts excluded); rows reaching fewer than "
    "privacy.min_group_users people are suppressed.",
    writer="features",
)

# written by socialflywheel.features.job
WATERMARK = Table(
    "gold.features_watermark",
    pa.schema(
        {
            "run_id": STR,
            "run_at": TS,
            "mode": STR,
            "silver_events_version": I64,
            "max_event_date": DATE,
            "rebuilt_from": DATE,
            "config_hash": STR,
            "categories": pa.list_(STR),
            "user_feature_names": pa.list_(STR),
            "item_feature_names": pa.list_(STR),
            "risky_hash": STR,
        }
    ),
    keys=("run_id",),
    doc="One row per features run: the silver.events version it read (the next run's baseline), the first "
    "date it rebuilt, the category vocabulary, the names of the training-example vector positions and a hash "
    "of the excluded risky accounts (a change rewrites every training example).",
    writer="features",
)

# written by socialflywheel.features.trends
TREND_SCORES = Table(
    "gold.hashtag_trend_scores",
    pa.schema(
        {
            "granularity": STR,
            "hashtag": STR,
            "bucket_start": TS,
            "uses": I64,
            "users": I64,
            "baseline": F64,
            "score": F64,
            "is_burst": BOOL,
        }
    ),
    partition_by=("granularity",),
    keys=("granularity", "hashtag", "bucket_start"),
    doc="Per (hashtag, hour|day) post uses, the tag's trailing baseline and its burst score.",
    writer="features",
)

# written by socialflywheel.features.trends
TRENDS = Table(
    "gold.hashtag_trends",
    pa.schema(
        {
            "granularity": STR,
            "hashtag": STR,
            "start_ts": TS,
            "end_ts": TS,
            "peak_ts": TS,
            "buckets": I64,
            "uses": I64,
            "baseline": F64,
            "strength": F64,
        }
    ),
    keys=("granularity", "hashtag", "start_ts"),
    doc="Trends: runs of consecutive high-scoring buckets; start, end (exclusive), peak and strength "
    "(the peak burst score); baseline is the tag's expected uses per bucket at the start.",
    writer="features",
)

# written by socialflywheel.features.item_features
ITEM_FEATURES = Table(
    "gold.item_features",
    pa.schema(
        {
            "post_id": STR,
            "author_id": STR,
            "category": STR,
            "created_at": TS,
            "impressions": I64,
            "likes": I64,
            "shares": I64,
            "comments": I64,
            "clicks": I64,
            "engagements": I64,
            "engagement_rate": F64,
            "engagement_velocity": pa.map_(STR, I64),
            "distinct_sharers": I64,
            "reshares": I64,
            "age_hours": F64,
            "author_followers": I64,
            "author_posts": I64,
            "last_event_ts": TS,
            "as_of_date": DATE,
        }
    ),
    partition_by=("as_of_date",),
    keys=("post_id", "as_of_date"),
    period_column="as_of_date",
    doc="Per post and as-of date (events of days <= as_of_date only): impressions (views), engagement counts "
    "and rate (likes+shares+comments+clicks over views), engagements within h hours of posting (key '<h>h'), "
    "distinct sharers and reshares (a share by a follower of an earlier sharer), age in hours at the end of "
    "as_of_date, the author's followers (follow/unfollow events) and posts so far.",
    pii_columns=("author_id",),
    writer="features",
)

# written by socialflywheel.features.sentiment
POST_SENTIMENT = Table(
    "gold.post_sentiment",
    pa.schema(
        {
            "event_id": STR,
            "kind": STR,
            "post_id": STR,
            "user_id": STR,
            "ts": TS,
            "compound": F64,
            "label": STR,
            "event_date": DATE,
        }
    ),
    partition_by=("event_date",),
    keys=("event_id",),
    period_column="event_date",
    doc="VADER compound score and label (positive/negative/neutral) of every post and comment text.",
    pii_columns=("user_id",),
    writer="features",
)

# written by socialflywheel.features.segments
SEGMENTS = Table(
    "gold.segments",
    pa.schema(
        {
            "segment": I32,
            "users": I64,
            "features": pa.map_(STR, F64),
            "top_categories": pa.list_(STR),
            "feature_source": STR,
        }
    ),
    keys=("segment",),
    doc="Profile per audience segment: size, mean (unscaled) features, most viewed categories; "
    "segments with fewer than privacy.min_group_users users are suppressed.",
    writer="features",
)

# written by socialflywheel.features.sentiment
SENTIMENT_AGGREGATES = Table(
    "gold.sentiment_aggregates",
    pa.schema(
        {
            "group_type": STR,
            "group_key": STR,
            "day": DATE,
            "items": I64,
            "posts": I64,
            "comments": I64,
            "positive": I64,
            "negative": I64,
            "neutral": I64,
            "mean_compound": F64,
            "users": I64,
        }
    ),
    keys=("group_type", "group_key", "day"),
    doc="Sentiment per hashtag, category and campaign per day; groups of fewer than "
    "privacy.min_group_users distinct users are suppressed; risky accounts left out.",
    writer="features",
)

# written by socialflywheel.features.training_examples
TRAINING_EXAMPLES = Table(
    "gold.training_examples",
    pa.schema(
        {
            "event_id": STR,
            "user_id": STR,
            "post_id": STR,
            "author_id": STR,
            "category": STR,
            "hashtags": pa.list_(STR),
            "ts": TS,
            "label": I32,
            "weight": F64,
            "split": STR,
            "device": STR,
            "hour": I32,
            "dow": I32,
            "dwell_ms": I64,
            "post_age_hours": F64,
            "features_as_of_date": DATE,
            "user_features": pa.list_(F64),
            "item_features": pa.list_(F64),
            "user_features_ts": TS,
            "item_features_ts": TS,
            "event_date": DATE,
        }
    ),
    partition_by=("event_date",),
    keys=("event_id",),
    period_column="event_date",
    doc="One row per view (impression) of a known post: label (engaged within the session or long dwell), "
    "weight, time split (train/val/test), context (device, hour, dow), user and item feature vectors from "
    "the snapshots of the day before (positions named in gold.features_watermark), and the latest event "
    "time each vector saw (always before ts). Accounts flagged by gold.account_risk are left out.",
    pii_columns=("user_id", "author_id"),
    writer="features",
)

# written by socialflywheel.features.user_features
USER_FEATURES = Table(
    "gold.user_features",
    pa.schema(
        {
            "user_id": STR,
            "event_counts": pa.map_(STR, I64),
            "engagement_rate": pa.map_(STR, F64),
            "active_days": pa.map_(STR, I64),
            "sessions": pa.map_(STR, I64),
            "dwell_mean": F64,
            "dwell_p50": F64,
            "dwell_p90": F64,
            "days_since_last_event": I32,
            "last_event_ts": TS,
            "followers": I64,
            "followees": I64,
            "category_affinity": pa.list_(F64),
            "ad_ctr": F64,
            "as_of_date": DATE,
        }
    ),
    partition_by=("as_of_date",),
    keys=("user_id", "as_of_date"),
    period_column="as_of_date",
    doc="Per person and as-of date (events of days <= as_of_date only): event counts per type and window "
    "(key '<type>_<w>d'), engagement rate (likes+shares+comments+clicks over views), active days and "
    "sessions (30-min gap) per window (key '<w>d'); over the longest window: dwell mean/p50/p90 of views "
    "(exact order statistics: element ceil(p*n) of the sorted values), share of engagements per category "
    "(vocabulary sorted, in "
    "gold.features_watermark.categories) and ad CTR; recency, follower and followee counts from "
    "follow/unfollow events up to as_of_date.",
    pii_columns=("user_id",),
    writer="features",
)

# written by socialflywheel.features.segments
USER_SEGMENTS = Table(
    "gold.user_segments",
    pa.schema(
        {
            "user_id": STR,
            "segment": I32,
            "distance": F64,
        }
    ),
    keys=("user_id",),
    doc="Each user's audience segment and standardized distance to its centre.",
    pii_columns=("user_id",),
    writer="features",
)

"""Tables written by the stages: gold features, graph and recommendation outputs, and stage bookkeeping.

Declared here, not in the stages, so the catalog is complete without importing any stage (stages import
these names; the lake never imports a stage)."""

from __future__ import annotations

from socialflywheel.lake.catalog.table import Table

# written by socialflywheel.ingest.conform
CONFORMED = Table(
    "silver.conformed_batches",
    "batch_id string, conformed_at timestamp, rows bigint",
    keys=("batch_id",),
    doc="Bronze batches already conformed into silver (makes conform incremental).",
)

# written by socialflywheel.privacy.erase
ERASURES = Table(
    "audit.erasures",
    "erasure_id string, requested_at timestamp, completed_at timestamp, people bigint, people_found bigint, "
    "tables array<string>, rows_deleted map<string,bigint>, models_marked bigint",
    keys=("erasure_id",),
    doc="One row per erasure request: when, which tables, how many rows. Never an identifier.",
)

# written by socialflywheel.features.risk
ACCOUNT_RISK = Table(
    "gold.account_risk",
    "user_id string, events bigint, views bigint, follows bigint, followers bigint, dwell_geomean_ms double, "
    "like_rate double, follow_burst double, coordination double, followee_follower_ratio double, "
    "score double, is_risky boolean",
    keys=("user_id",),
    doc="Rule-based bot/spam score in [0,1] per account; is_risky = score > features.risk_threshold.",
    pii_columns=("user_id",),
)

# written by socialflywheel.features.campaigns
CAMPAIGN_PERFORMANCE = Table(
    "gold.campaign_performance",
    "campaign_id string, day date, impressions bigint, clicks bigint, ctr double, reach bigint, "
    "frequency double, clickers bigint, engaged_users bigint",
    keys=("campaign_id", "day"),
    doc="Ad delivery per campaign and day (risky accounts excluded); rows reaching fewer than "
    "privacy.min_group_users people are suppressed.",
)

# written by socialflywheel.features.job
WATERMARK = Table(
    "gold.features_watermark",
    "run_id string, run_at timestamp, mode string, silver_events_version bigint, max_event_date date, "
    "rebuilt_from date, config_hash string, categories array<string>, user_feature_names array<string>, "
    "item_feature_names array<string>, risky_hash string",
    keys=("run_id",),
    doc="One row per features run: the silver.events version it read (the next run's baseline), the first "
    "date it rebuilt, the category vocabulary, the names of the training-example vector positions and a hash "
    "of the excluded risky accounts (a change rewrites every training example).",
)

# written by socialflywheel.graph.job
GRAPH_CENTRALITY = Table(
    "gold.graph_centrality",
    "user_id string, pagerank double, engagement_pagerank double, in_degree bigint, out_degree bigint, "
    "engagement_in double, engagement_out double, core_number bigint, betweenness double, triangles bigint, "
    "clustering double, component bigint, community bigint, rank_in_community bigint, backend string, "
    "as_of timestamp",
    keys=("user_id",),
    doc="Per-person centrality on the follow graph (PageRank, degrees, k-core, sampled betweenness, "
    "triangles, clustering, weakly connected component), PageRank and weighted degrees on the "
    "recency-decayed engagement graph, and the person's community with their PageRank rank inside it.",
    pii_columns=("user_id",),
)

# written by socialflywheel.graph.job
GRAPH_COMMUNITIES = Table(
    "gold.graph_communities",
    "community bigint, size bigint, modularity double, algorithm string, top_influencers array<string>, "
    "backend string, as_of timestamp",
    keys=("community",),
    doc="Communities of the symmetrized graph (largest first), the partition's modularity and the "
    "community's members with the highest PageRank.",
    pii_columns=("top_influencers",),
)

# written by socialflywheel.features.trends
TREND_SCORES = Table(
    "gold.hashtag_trend_scores",
    "granularity string, hashtag string, bucket_start timestamp, uses bigint, users bigint, "
    "baseline double, score double, is_burst boolean",
    partition_by=("granularity",),
    keys=("granularity", "hashtag", "bucket_start"),
    doc="Per (hashtag, hour|day) post uses, the tag's trailing baseline and its burst score.",
)

# written by socialflywheel.features.trends
TRENDS = Table(
    "gold.hashtag_trends",
    "granularity string, hashtag string, start_ts timestamp, end_ts timestamp, peak_ts timestamp, "
    "buckets bigint, uses bigint, baseline double, strength double",
    keys=("granularity", "hashtag", "start_ts"),
    doc="Trends: runs of consecutive high-scoring buckets; start, end (exclusive), peak and strength "
    "(the peak burst score); baseline is the tag's expected uses per bucket at the start.",
)

# written by socialflywheel.features.item_features
ITEM_FEATURES = Table(
    "gold.item_features",
    "post_id string, author_id string, category string, created_at timestamp, impressions bigint, likes bigint, "
    "shares bigint, comments bigint, clicks bigint, engagements bigint, engagement_rate double, "
    "engagement_velocity map<string,bigint>, distinct_sharers bigint, reshares bigint, age_hours double, "
    "author_followers bigint, author_posts bigint, last_event_ts timestamp, as_of_date date",
    partition_by=("as_of_date",),
    keys=("post_id", "as_of_date"),
    doc="Per post and as-of date (events of days <= as_of_date only): impressions (views), engagement counts "
    "and rate (likes+shares+comments+clicks over views), engagements within h hours of posting (key '<h>h'), "
    "distinct sharers and reshares (a share by a follower of an earlier sharer), age in hours at the end of "
    "as_of_date, the author's followers (follow/unfollow events) and posts so far.",
    pii_columns=("author_id",),
)

# written by socialflywheel.graph.job
PEOPLE_YOU_MAY_KNOW = Table(
    "gold.people_you_may_know",
    "user_id string, candidate_id string, score double, rank bigint, score_kind string, as_of timestamp",
    keys=("user_id", "candidate_id"),
    doc="Friends-of-friends follow suggestions ranked by Adamic-Adar or Jaccard; accounts the user "
    "already follows, the user and risky accounts are excluded.",
    pii_columns=("user_id", "candidate_id"),
)

# written by socialflywheel.features.sentiment
POST_SENTIMENT = Table(
    "gold.post_sentiment",
    "event_id string, kind string, post_id string, user_id string, ts timestamp, compound double, "
    "label string, event_date date",
    partition_by=("event_date",),
    keys=("event_id",),
    doc="VADER compound score and label (positive/negative/neutral) of every post and comment text.",
    pii_columns=("user_id",),
)

# written by socialflywheel.recsys.fairness
RECOMMENDATION_FAIRNESS = Table(
    "gold.recommendation_fairness",
    "model_version string, generated_at timestamp, dimension string, group_key string, items bigint, "
    "recommended_items bigint, creators bigint, users bigint, impressions bigint, exposure double, "
    "impression_share double, exposure_share double, catalogue_share double, gini_exposure double, "
    "gini_impressions double, catalogue_coverage double, computed_at timestamp",
    keys=("model_version", "dimension", "group_key"),
    doc="Exposure of one recommendation slice (model_version, generated_at) by creator tier "
    "(emerging < median followers <= established < p90 <= top) and item popularity decile "
    "(1 least .. 10 most popular): position-discounted exposure 1/log2(rank+1) and plain impressions, "
    "their shares next to the group's catalogue share, recipients (users) and creators per group; "
    "the version's Gini of exposure over all catalogue items and catalogue coverage on every row. "
    "Rows of a model version are replaced when it is measured again.",
)

# written by socialflywheel.recsys.recommend_job
RECOMMENDATIONS = Table(
    "gold.recommendations",
    "user_id string, post_id string, rank int, score double, source string, model_version string, "
    "generated_at timestamp",
    partition_by=("model_version",),
    keys=("model_version", "user_id", "rank"),
    doc="Top-K posts per user from the serving two-tower model (source 'model') or, for people the "
    "model has not seen, trending and popular posts in their categories (source 'fallback'); items "
    "the user already interacted with and the user's own posts are never listed. One slice per "
    "model_version, replaced when that version runs again.",
    pii_columns=("user_id",),
)

# written by socialflywheel.features.segments
SEGMENTS = Table(
    "gold.segments",
    "segment int, users bigint, features map<string,double>, top_categories array<string>, feature_source string",
    keys=("segment",),
    doc="Profile per audience segment: size, mean (unscaled) features, most viewed categories; "
    "segments with fewer than privacy.min_group_users users are suppressed.",
)

# written by socialflywheel.features.sentiment
SENTIMENT_AGGREGATES = Table(
    "gold.sentiment_aggregates",
    "group_type string, group_key string, day date, items bigint, posts bigint, comments bigint, "
    "positive bigint, negative bigint, neutral bigint, mean_compound double, users bigint",
    keys=("group_type", "group_key", "day"),
    doc="Sentiment per hashtag, category and campaign per day; groups of fewer than "
    "privacy.min_group_users distinct users are suppressed; risky accounts left out.",
)

# written by socialflywheel.features.training_examples
TRAINING_EXAMPLES = Table(
    "gold.training_examples",
    "event_id string, user_id string, post_id string, author_id string, category string, "
    "hashtags array<string>, ts timestamp, label int, weight double, split string, device string, hour int, "
    "dow int, dwell_ms bigint, post_age_hours double, features_as_of_date date, user_features array<double>, "
    "item_features array<double>, user_features_ts timestamp, item_features_ts timestamp, event_date date",
    partition_by=("event_date",),
    keys=("event_id",),
    doc="One row per view (impression) of a known post: label (engaged within the session or long dwell), "
    "weight, time split (train/val/test), context (device, hour, dow), user and item feature vectors from "
    "the snapshots of the day before (positions named in gold.features_watermark), and the latest event "
    "time each vector saw (always before ts). Accounts flagged by gold.account_risk are left out.",
    pii_columns=("user_id", "author_id"),
)

# written by socialflywheel.features.user_features
USER_FEATURES = Table(
    "gold.user_features",
    "user_id string, event_counts map<string,bigint>, engagement_rate map<string,double>, "
    "active_days map<string,bigint>, sessions map<string,bigint>, dwell_mean double, dwell_p50 double, "
    "dwell_p90 double, days_since_last_event int, last_event_ts timestamp, followers bigint, followees bigint, "
    "category_affinity array<double>, ad_ctr double, as_of_date date",
    partition_by=("as_of_date",),
    keys=("user_id", "as_of_date"),
    doc="Per person and as-of date (events of days <= as_of_date only): event counts per type and window "
    "(key '<type>_<w>d'), engagement rate (likes+shares+comments+clicks over views), active days and "
    "sessions (30-min gap) per window (key '<w>d'); over the longest window: dwell mean/p50/p90 of views "
    "(exact order statistics: element ceil(p*n) of the sorted values), share of engagements per category "
    "(vocabulary sorted, in "
    "gold.features_watermark.categories) and ad CTR; recency, follower and followee counts from "
    "follow/unfollow events up to as_of_date.",
    pii_columns=("user_id",),
)

# written by socialflywheel.features.segments
USER_SEGMENTS = Table(
    "gold.user_segments",
    "user_id string, segment int, distance double",
    keys=("user_id",),
    doc="Each user's audience segment and standardized distance to its centre.",
    pii_columns=("user_id",),
)

STAGE_TABLES: tuple[Table, ...] = (
    ERASURES,
    ACCOUNT_RISK,
    CAMPAIGN_PERFORMANCE,
    WATERMARK,
    GRAPH_CENTRALITY,
    GRAPH_COMMUNITIES,
    TREND_SCORES,
    TRENDS,
    ITEM_FEATURES,
    PEOPLE_YOU_MAY_KNOW,
    POST_SENTIMENT,
    RECOMMENDATION_FAIRNESS,
    RECOMMENDATIONS,
    SEGMENTS,
    SENTIMENT_AGGREGATES,
    TRAINING_EXAMPLES,
    USER_FEATURES,
    USER_SEGMENTS,
    CONFORMED,
)

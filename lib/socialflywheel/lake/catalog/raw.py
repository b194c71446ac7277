"""Bronze (raw, access-restricted), silver (pseudonymized, deduplicated), audit and simulator-truth tables."""

from __future__ import annotations

from socialflywheel.lake.catalog.table import EVENT_COLUMNS, EVENT_SCHEMA, Table

RAW_TABLES: list[Table] = [
    # bronze: raw, access-restricted ---------------------------------------------------------
    Table(
        "bronze.events",
        EVENT_COLUMNS + ", extras map<string,string>, batch_id string, source_file string, "
        "ingested_at timestamp, event_date date",
        partition_by=("event_date",),
        keys=("event_id",),
        doc="Validated events with raw identifiers; extra source fields kept in `extras`.",
        pii_columns=("user_id", "target_user_id"),
    ),
    Table(
        "bronze.quarantine",
        "raw binary, reason string, detail string, source_file string, file_sha256 string, line_no bigint, "
        "batch_id string, quarantined_at timestamp, ingest_date date",
        partition_by=("ingest_date",),
        keys=("file_sha256", "line_no"),
        doc="Rejected landing rows with their raw bytes and the rule they broke.",
    ),
    Table(
        "bronze.ingested_files",
        "path string, size bigint, sha256 string, batch_id string, ingested_at timestamp, rows bigint, status string",
        keys=("path", "sha256"),
        doc="Ledger of landing files taken, so re-runs take nothing twice.",
    ),
    Table(
        "bronze.batches",
        "batch_id string, started_at timestamp, ended_at timestamp, files bigint, rows_in bigint, rows_new bigint, "
        "rows_present bigint, rows_quarantined bigint, reconciled boolean, changed_files array<string>, "
        "quarantined_by_reason map<string,bigint>",
        keys=("batch_id",),
        doc="Per-batch reconciliation: rows_in = rows_new + rows_present + rows_quarantined.",
    ),
    # silver: pseudonymized, deduplicated -------------------------------------------------------
    Table(
        "silver.events",
        EVENT_SCHEMA,
        partition_by=("event_date",),
        keys=("event_id",),
        doc="Deduplicated events with pseudonymized people.",
        pii_columns=("user_id", "target_user_id"),
    ),
    Table(
        "silver.users",
        "user_id string, first_seen timestamp, last_seen timestamp, country string, device string, events bigint",
        keys=("user_id",),
        doc="One row per pseudonymized person seen in events.",
        pii_columns=("user_id",),
    ),
    Table(
        "silver.posts",
        "post_id string, author_id string, created_at timestamp, category string, hashtags array<string>, "
        "text string, campaign_id string",
        keys=("post_id",),
        doc="One row per post, with its creator-chosen category.",
        pii_columns=("author_id",),
    ),
    Table(
        "silver.follows",
        "follower_id string, followee_id string, since timestamp",
        keys=("follower_id", "followee_id"),
        doc="Current follow edges (follows minus later unfollows).",
        pii_columns=("follower_id", "followee_id"),
    ),
    # audit ---------------------------------------------------------------------------------------
    Table(
        "audit.job_runs",
        "run_id string, job string, started_at timestamp, ended_at timestamp, status string, rows_in bigint, "
        "rows_out bigint, versions_read map<string,bigint>, versions_written map<string,bigint>, "
        "config_hash string, error string",
        keys=("run_id",),
        doc="One row per job run, failed runs included.",
    ),
    # truth: simulator ground truth, read only by tests and evaluations ---------------------------
    Table(
        "truth.users",
        "user_id string, community int, is_influencer boolean, is_bot boolean, interests array<double>, "
        "country string, device string",
        keys=("user_id",),
        doc="Planted communities, influencers, bots and latent interests (raw ids).",
        pii_columns=("user_id",),
    ),
    Table(
        "truth.posts",
        "post_id string, author_id string, category string, sentiment string, created_at timestamp",
        keys=("post_id",),
        doc="Planted post categories and sentiment.",
        pii_columns=("author_id",),
    ),
    Table(
        "truth.sentiment",
        "event_id string, post_id string, kind string, sentiment string",
        keys=("event_id",),
        doc="Planted sentiment of every post and comment text.",
    ),
    Table(
        "truth.trends",
        "hashtag string, start_ts timestamp, end_ts timestamp, strength double",
        keys=("hashtag", "start_ts"),
        doc="Planted hashtag bursts.",
    ),
    Table(
        "truth.corruptions",
        "source_file string, line_no bigint, kind string",
        doc="Every injected bad record: landing file (relative to the landing folder), 1-based line, kind.",
    ),
    Table(
        "truth.follows",
        "follower_id string, followee_id string, followed_at timestamp, unfollowed_at timestamp, by_bot boolean",
        keys=("follower_id", "followee_id"),
        doc="Every planted follow edge; unfollowed_at is null for edges still current at the end.",
        pii_columns=("follower_id", "followee_id"),
    ),
    Table(
        "truth.campaigns",
        "campaign_id string, category string, base_ctr double, start_ts timestamp, end_ts timestamp, "
        "impressions bigint, clicks bigint",
        keys=("campaign_id",),
        doc="Planted ad campaigns: target category, base CTR, run, and the impressions/clicks emitted.",
    ),
    Table(
        "truth.shares",
        "event_id string, post_id string, user_id string, parent_user_id string, depth int, ts timestamp",
        keys=("event_id",),
        doc="Share cascades of viral posts: each re-share, whose share it came through, its depth, when it was seen.",
        pii_columns=("user_id", "parent_user_id"),
    ),
]

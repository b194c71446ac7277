"""Bronze (raw, access-restricted), silver (pseudonymized, deduplicated), audit and simulator-truth tables."""

from __future__ import annotations

import pyarrow as pa

from socialflywheel.lake.catalog.table import BIN, BOOL, DATE, EVENT_FIELDS, EVENT_SCHEMA, F64, I32, I64, STR, TS, Table

RAW_TABLES: list[Table] = [
    # bronze: raw, access-restricted ---------------------------------------------------------
    Table(
        "bronze.events",
        pa.schema(
            [
                *EVENT_FIELDS,
                ("extras", pa.map_(STR, STR)),
                ("batch_id", STR),
                ("source_file", STR),
                ("ingested_at", TS),
                ("event_date", DATE),
            ]
        ),
        partition_by=("event_date",),
        keys=("event_id",),
        period_column="event_date",
        doc="Validated events with raw identifiers; extra source fields kept in `extras`.",
        pii_columns=("user_id", "target_user_id"),
        writer="ingest",
    ),
    Table(
        "bronze.quarantine",
        pa.schema(
            {
                "raw": BIN,
                "reason": STR,
                "detail": STR,
                "source_file": STR,
                "file_sha256": STR,
                "line_no": I64,
                "batch_id": STR,
                "quarantined_at": TS,
                "ingest_date": DATE,
            }
        ),
        partition_by=("ingest_date",),
        keys=("file_sha256", "line_no"),
        doc="Rejected landing rows with their raw bytes and the rule they broke.",
        writer="ingest",
    ),
    Table(
        "bronze.ingested_files",
        pa.schema(
            {
                "path": STR,
                "size": I64,
                "sha256": STR,
                "batch_id": STR,
                "ingested_at": TS,
                "rows": I64,
                "status": STR,
            }
        ),
        keys=("path", "sha256"),
        doc="Ledger of landing files taken, so re-runs take nothing twice.",
        writer="ingest",
    ),
    Table(
        "bronze.batches",
        pa.schema(
            {
                "batch_id": STR,
                "started_at": TS,
                "ended_at": TS,
                "files": I64,
                "rows_in": I64,
                "rows_new": I64,
                "rows_present": I64,
                "rows_quarantined": I64,
                "reconciled": BOOL,
                "changed_files": pa.list_(STR),
                "quarantined_by_reason": pa.map_(STR, I64),
            }
        ),
        keys=("batch_id",),
        doc="Per-batch reconciliation: rows_in = rows_new + rows_present + rows_quarantined.",
        writer="ingest",
    ),
    # silver: pseudonymized, deduplicated -------------------------------------------------------
    Table(
        "silver.events",
        EVENT_SCHEMA,
        partition_by=("event_date",),
        keys=("event_id",),
        period_column="event_date",
        doc="Deduplicated events with pseudonymized people.",
        pii_columns=("user_id", "target_user_id"),
        writer="conform",
    ),
    Table(
        "silver.users",
        pa.schema(
            {
                "user_id": STR,
                "first_seen": TS,
                "last_seen": TS,
                "country": STR,
                "device": STR,
                "events": I64,
            }
        ),
        keys=("user_id",),
        period_column="first_seen",
        doc="One row per pseudonymized person seen in events.",
        pii_columns=("user_id",),
        writer="conform",
    ),
    Table(
        "silver.public_handles",
        pa.schema(
            {
                "user_id": STR,
                "handle": STR,
                "basis": STR,
                "granted_at": TS,
            }
        ),
        keys=("user_id",),
        doc="The governed mapping from a pseudonym to the public handle people may see (an official or consenting "
        "account, and on what basis), loaded by `flywheel handles`; the report names an influencer by handle only "
        "here, by pseudonym otherwise. Erasure deletes a person's row; an erased person is never loaded again.",
        pii_columns=("user_id",),
        writer="handles",
    ),
    Table(
        "silver.posts",
        pa.schema(
            {
                "post_id": STR,
                "author_id": STR,
                "created_at": TS,
                "category": STR,
                "hashtags": pa.list_(STR),
                "text": STR,
                "campaign_id": STR,
            }
        ),
        keys=("post_id",),
        period_column="created_at",
        doc="One row per post, with its creator-chosen category.",
        pii_columns=("author_id",),
        writer="conform",
    ),
    Table(
        "silver.follows",
        pa.schema(
            {
                "follower_id": STR,
                "followee_id": STR,
                "since": TS,
            }
        ),
        keys=("follower_id", "followee_id"),
        period_column="since",
        doc="Current follow edges (follows minus later unfollows).",
        pii_columns=("follower_id", "followee_id"),
        writer="conform",
    ),
    # audit ---------------------------------------------------------------------------------------
    Table(
        "audit.job_runs",
        pa.schema(
            {
                "run_id": STR,
                "job": STR,
                "started_at": TS,
                "ended_at": TS,
                "status": STR,
                "rows_in": I64,
                "rows_out": I64,
                "versions_read": pa.map_(STR, I64),
                "versions_written": pa.map_(STR, I64),
                "config_hash": STR,
                "error": STR,
            }
        ),
        keys=("run_id",),
        doc="One row per job run, failed runs included.",
        writer=None,
    ),
    # truth: simulator ground truth, read only by tests and evaluations ---------------------------
    Table(
        "truth.users",
        pa.schema(
            {
                "user_id": STR,
                "community": I32,
                "is_influencer": BOOL,
                "is_bot": BOOL,
                "interests": pa.list_(F64),
                "country": STR,
                "device": STR,
            }
        ),
        keys=("user_id",),
        doc="Planted communities, influencers, bots and latent interests (raw ids).",
        pii_columns=("user_id",),
        writer="simulate",
    ),
    Table(
        "truth.posts",
        pa.schema(
            {
                "post_id": STR,
                "author_id": STR,
                "category": STR,
                "sentiment": STR,
                "created_at": TS,
            }
        ),
        keys=("post_id",),
        doc="Planted post categories and sentiment.",
        pii_columns=("author_id",),
        writer="simulate",
    ),
    Table(
        "truth.sentiment",
        pa.schema(
            {
                "event_id": STR,
                "post_id": STR,
                "kind": STR,
                "sentiment": STR,
            }
        ),
        keys=("event_id",),
        doc="Planted sentiment of every post and comment text.",
        writer="simulate",
    ),
    Table(
        "truth.trends",
        pa.schema(
            {
                "hashtag": STR,
                "start_ts": TS,
                "end_ts": TS,
                "strength": F64,
            }
        ),
        keys=("hashtag", "start_ts"),
        doc="Planted hashtag bursts.",
        writer="simulate",
    ),
    Table(
        "truth.corruptions",
        pa.schema(
            {
                "source_file": STR,
                "line_no": I64,
                "kind": STR,
            }
        ),
        doc="Every injected bad record: landing file (relative to the landing folder), 1-based line, kind.",
        writer="simulate",
    ),
    Table(
        "truth.follows",
        pa.schema(
            {
                "follower_id": STR,
                "followee_id": STR,
                "followed_at": TS,
                "unfollowed_at": TS,
                "by_bot": BOOL,
            }
        ),
        keys=("follower_id", "followee_id"),
        doc="Every planted follow edge; unfollowed_at is null for edges still current at the end.",
        pii_columns=("follower_id", "followee_id"),
        writer="simulate",
    ),
    Table(
        "truth.campaigns",
        pa.schema(
            {
                "campaign_id": STR,
                "category": STR,
                "base_ctr": F64,
                "start_ts": TS,
                "end_ts": TS,
                "impressions": I64,
                "clicks": I64,
            }
        ),
        keys=("campaign_id",),
        doc="Planted ad campaigns: target category, base CTR, run, and the impressions/clicks emitted.",
        writer="simulate",
    ),
    Table(
        "truth.shares",
        pa.schema(
            {
                "event_id": STR,
                "post_id": STR,
                "user_id": STR,
                "parent_user_id": STR,
                "depth": I32,
                "ts": TS,
            }
        ),
        keys=("event_id",),
        doc="Share cascades of viral posts: each re-share, whose share it came through, its depth, when it was seen.",
        pii_columns=("user_id", "parent_user_id"),
        writer="simulate",
    ),
]

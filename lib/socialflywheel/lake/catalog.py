"""The one place that names every table: its layer, schema, partitioning and keys."""

from __future__ import annotations

from dataclasses import dataclass, field

EVENT_TYPES = (
    "post",
    "view",
    "like",
    "share",
    "comment",
    "follow",
    "unfollow",
    "click",
    "search",
    "ad_impression",
    "ad_click",
)

# The event contract (ARCHITECTURE.md). Order matters: landing parsers emit it in this order.
EVENT_COLUMNS = (
    "event_id string, event_type string, user_id string, post_id string, target_user_id string, "
    "ts timestamp, dwell_ms bigint, text string, hashtags array<string>, country string, device string, "
    "campaign_id string"
)
EVENT_SCHEMA = EVENT_COLUMNS + ", event_date date"


@dataclass(frozen=True)
class Table:
    """A named Delta table of the lake."""

    name: str
    schema: str
    partition_by: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    doc: str = ""
    pii_columns: tuple[str, ...] = field(default=())
    """Columns that hold a person's identifier (raw in bronze, pseudonymized elsewhere); erasure uses them."""

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def column_types(self) -> dict[str, str]:
        """Column name -> Spark DDL type, in schema order."""
        cols: dict[str, str] = {}
        depth = 0
        token = ""
        for ch in self.schema + ",":
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            if ch == "," and depth == 0:
                name, _, dtype = token.strip().partition(" ")
                cols[name] = dtype.strip()
                token = ""
            else:
                token += ch
        return cols

    @property
    def column_names(self) -> list[str]:
        return list(self.column_types)


_TABLES = [
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

CATALOG: dict[str, Table] = {t.name: t for t in _TABLES}


# Stage modules that declare their own tables at import (gold tables and stage bookkeeping).
STAGE_TABLE_MODULES = (
    "socialflywheel.ingest.conform",
    "socialflywheel.features.job",
    "socialflywheel.features.user_features",
    "socialflywheel.features.item_features",
    "socialflywheel.features.training_examples",
    "socialflywheel.features.trends",
    "socialflywheel.features.sentiment",
    "socialflywheel.features.campaigns",
    "socialflywheel.features.segments",
    "socialflywheel.features.risk",
    "socialflywheel.graph.tables",
    "socialflywheel.recsys.tables",
    "socialflywheel.recsys.fairness",
    "socialflywheel.privacy.erase",
)


def load_all() -> dict[str, Table]:
    """Import every stage's table declarations, so the catalog is complete (erase, tables, maintain)."""
    import importlib

    for module in STAGE_TABLE_MODULES:
        importlib.import_module(module)
    return CATALOG


def register(table: Table) -> Table:
    """Declare a table (stage modules declare their gold tables at import)."""
    existing = CATALOG.get(table.name)
    if existing is not None and existing != table:
        raise ValueError(f"table {table.name} is already declared with another schema")
    CATALOG[table.name] = table
    return table


def table(name: str) -> Table:
    """Look a table up by its qualified name, e.g. ``silver.events``.

    Stage tables are declared when their module is imported; a lookup never depends on what the process
    happened to import before: an unknown name loads every stage's declarations once more before failing.
    """
    found = CATALOG.get(name)
    if found is None:
        found = load_all().get(name)
    if found is None:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown table {name!r}; the catalog has: {known}")
    return found


def is_declared(name: str) -> bool:
    """Whether any stage declares the table (independent of import order)."""
    return name in CATALOG or name in load_all()

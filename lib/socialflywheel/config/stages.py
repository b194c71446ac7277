"""Ingest, features and report settings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from socialflywheel.config._base import INT32_MAX, MAX_DAYS, MAX_HOURS, Strict, Url
from socialflywheel.config.contract import FIELD_NAMES
from socialflywheel.config.sources import SourceError, load_source

_EARLIEST_TS = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)


class IngestConfig(Strict):
    """Landing -> bronze -> silver."""

    landing_dir: Url | None = Field(
        None,
        min_length=1,
        description="Landing folder or object-store prefix (s3a://bucket/landing); default <work_dir>/landing.",
    )
    format: Literal["json", "parquet"] = Field("json", description="Landing format read: json lines or parquet.")
    max_files_per_batch: int = Field(10_000, ge=1, le=INT32_MAX, description="Most files taken in one batch.")
    # 4M lines / 1 GiB a batch: at 4M events one batch took 74 s and 3.2 GB against 108 s and 1.9 GB in 500k-line
    # batches (each batch's presence check reads every event id in bronze, so fewer batches scale better).
    max_batch_bytes: int = Field(
        2**30,
        ge=1,
        le=2**40,
        description="Most landing bytes in one batch; a run takes several batches to stay in memory.",
    )
    max_batch_lines: int = Field(
        4_000_000,
        ge=1,
        le=INT32_MAX,
        description="Most landing lines in one batch (a longer file is taken in parts); bounds memory on short lines.",
    )
    breaking_share: float = Field(
        0.5,
        gt=0,
        le=1,
        description="A field missing or mistyped in more than this share of a file's rows fails the batch.",
    )
    field_mapping: dict[str, str] = Field(
        default_factory=dict, description="Source field name -> contract field name, for other event dumps."
    )
    source: str | None = Field(
        None,
        min_length=1,
        description="A source mapping for records that are not contract events: a shipped profile (twitter-v1, "
        "twitter-v2, mastodon, bluesky, reddit) or the path of a mapping file (YAML; see docs/sources.md). "
        "None: landing lines are contract events (renamed by field_mapping).",
    )
    max_text_bytes: int = Field(4096, ge=16, le=2**30, description="Longest accepted text field, in UTF-8 bytes.")
    max_line_bytes: int = Field(65536, ge=64, le=2**30, description="Longest accepted raw line, in bytes.")
    min_ts: str = Field(
        "2015-01-01T00:00:00Z",
        description="Earliest plausible event time: an ISO-8601 timestamp (UTC unless it has an offset) between "
        "1900 and now; earlier events are quarantined.",
    )
    max_future_hours: int = Field(
        24, ge=0, le=24 * 366, description="Latest plausible event time, hours after ingest (at most a year)."
    )

    @field_validator("min_ts", mode="before")
    @classmethod
    def _timestamp_text(cls, value: object) -> object:
        """YAML reads an unquoted timestamp as a datetime; keep it as ISO-8601 text."""
        if isinstance(value, dt.datetime | dt.date):
            return value.isoformat()
        return value

    @field_validator("min_ts")
    @classmethod
    def _plausible_min_ts(cls, value: str) -> str:
        """Parse it as the ingest job will, so that nonsense fails here and not at job time."""
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
            in_range = _EARLIEST_TS <= when <= dt.datetime.now(dt.UTC)
        except (ValueError, OverflowError):
            raise ValueError("expected an ISO-8601 timestamp such as 2015-01-01T00:00:00Z") from None
        if not in_range:
            raise ValueError("must lie between 1900-01-01 and now (a later one would quarantine every event)")
        return value.strip()

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str | None) -> str | None:
        """Load the mapping now, so that a missing file or a wrong key fails when the config loads."""
        if value is not None:
            try:
                load_source(value.strip())
            except SourceError as exc:
                raise ValueError(str(exc)) from None
        return value.strip() if value is not None else None

    @model_validator(mode="after")
    def _one_mapping(self) -> IngestConfig:
        if self.source and self.field_mapping:
            raise ValueError("give either source (a mapping file) or field_mapping (renames), not both")
        return self

    @field_validator("field_mapping")
    @classmethod
    def _maps_to_contract_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value.values()) - set(FIELD_NAMES))
        if unknown:
            raise ValueError(
                f"{len(unknown)} target(s) are not fields of the landing contract; allowed: "
                + ", ".join(sorted(FIELD_NAMES))
            )
        if any(not source for source in value):
            raise ValueError("a source field name is empty")
        return value


class FeaturesConfig(Strict):
    """Gold feature tables."""

    windows_days: list[Annotated[int, Field(ge=1, le=MAX_DAYS)]] = Field(
        default_factory=lambda: [1, 7, 28], min_length=1, description="Event-count windows, in days."
    )
    trend_bucket: Literal["hour", "day"] = Field(
        "hour", description="Finest trend bucket: hour (hourly and daily trends) or day (daily only)."
    )
    trend_baseline_buckets: int = Field(48, ge=2, le=100_000, description="Trailing buckets for a tag's own baseline.")
    trend_min_score: float = Field(4.0, gt=0, le=1e9, description="Burst score above which a tag is trending.")
    segments: int = Field(8, ge=2, le=100_000, description="k for k-means audience segments.")
    risk_threshold: float = Field(0.5, ge=0, le=1, description="Accounts scoring above are left out downstream.")
    test_days: int = Field(7, ge=1, le=MAX_DAYS, description="Last days held out as the test period.")
    validation_days: int = Field(3, ge=1, le=MAX_DAYS, description="Days before the test period used for validation.")
    split_by: Literal["time", "user_time"] = Field(
        "time",
        description="time: the last test_days are test, the validation_days before them val (global periods); "
        "user_time: each person's own examples by time, the last user_test_share test and the user_validation_share "
        "before them val (rating data sets; train with train.split_by=user_time).",
    )
    # Each below one half, so that the two always leave training a share (a bound per key, not a rule across keys).
    user_test_share: float = Field(0.2, gt=0, le=0.45, description="user_time: each person's last share of examples.")
    user_validation_share: float = Field(
        0.1, gt=0, le=0.45, description="user_time: the share of each person's examples before their test ones."
    )
    # User, item and training-example tables (part B).
    users_per_bucket: int = Field(
        100_000,
        ge=0,
        le=INT32_MAX,
        description="The user snapshots are built in pieces of about this many people (by a hash of their id), one "
        "after another, so memory holds one piece (at 10M events, 500k people in one piece held 18 GB); 0: one piece.",
    )
    chunk_days: int = Field(
        7,
        ge=0,
        le=MAX_DAYS,
        description="The user and item snapshots and the training examples are built this many days at a time "
        "(memory grows with the chunk and the number of people and posts, not with the lake; the chunks equal one "
        "build); 0: in one piece.",
    )
    session_gap_minutes: int = Field(
        30, ge=1, le=MAX_HOURS * 60, description="Inactivity (minutes) after which a new session starts."
    )
    label_dwell_ms: int = Field(
        20_000,
        ge=0,
        le=INT32_MAX,
        description="A view dwelt on at least this long (ms) is a positive example, like an engagement.",
    )
    velocity_hours: list[Annotated[int, Field(ge=1, le=MAX_HOURS)]] = Field(
        default_factory=lambda: [1, 6, 24],
        min_length=1,
        description="Item engagement velocity: engagements within h hours of posting.",
    )
    # Analytics gold tables (trends, risk, segments).
    trend_prior: float = Field(
        2.0,
        gt=0,
        le=1e12,
        description="Pseudo-count added to a tag's baseline variance, so tiny baselines do not burst.",
    )
    trend_min_count: int = Field(
        3, ge=1, le=INT32_MAX, description="Fewest uses in a bucket for it to count as a burst."
    )
    trend_extend_score: float = Field(
        2.0,
        gt=0,
        le=1e9,
        description="A trend starts/continues in adjacent buckets scoring at least this (hysteresis).",
    )
    trend_max_gap: int = Field(
        3, ge=0, le=100_000, description="Quiet buckets a trend may bridge (a burst dimming overnight)."
    )
    trend_daily_baseline_days: int = Field(
        7, ge=2, le=MAX_DAYS, description="Trailing days for the daily trend baseline."
    )
    risk_coordination_minutes: int = Field(
        10,
        ge=1,
        le=MAX_HOURS * 60,
        description="Follows of one target within +/- this many minutes count as coordinated.",
    )
    risk_coordination_min_others: int = Field(
        5,
        ge=1,
        le=INT32_MAX,
        description="Other accounts following the same target in the window to call a follow coordinated.",
    )
    segment_fit_users: int = Field(
        200_000, ge=100, le=INT32_MAX, description="Most users sampled to fit k-means centres (all users are assigned)."
    )


class FairnessThresholds(Strict):
    """Limits the report checks each model version's recommendation exposure against (breaches are shown, not fatal)."""

    max_gini_exposure: float = Field(
        0.9, ge=0, le=1, description="Highest Gini of (rank-discounted) exposure over all items (1: one item gets all)."
    )
    min_catalogue_coverage: float = Field(
        0.1, ge=0, le=1, description="Lowest share of the catalogue recommended to someone at least once."
    )
    min_emerging_exposure_ratio: float = Field(
        0.25,
        ge=0,
        le=1_000,
        description="Lowest exposure share of emerging creators' posts divided by their share of the catalogue.",
    )


class ReportConfig(Strict):
    """The HTML report."""

    path: str | None = Field(None, min_length=1, description="Output file; default <work_dir>/report/report.html.")
    fairness: FairnessThresholds = Field(
        default_factory=FairnessThresholds, description="Fairness limits the report checks recommendations against."
    )


class MaintainConfig(Strict):
    """Compaction, vacuum, log clean-up and retention (``flywheel maintain``)."""

    vacuum_retention_hours: int = Field(
        168,
        ge=0,
        le=MAX_HOURS,
        description="Files unreferenced for longer are deleted; 0 makes erasure physical at once.",
    )
    log_retention_hours: int = Field(
        720, ge=0, le=MAX_HOURS, description="Delta log entries older than this are removed after a checkpoint."
    )
    compact_min_files: int = Field(
        16, ge=2, le=INT32_MAX, description="Compact a table once it has at least this many files."
    )

"""Simulator sizes, planted structure and corruption rates."""

from __future__ import annotations

from pydantic import Field

from socialflywheel.config._base import Strict


class CorruptionConfig(Strict):
    """Rates (share of records) of each kind of bad record injected into landing files."""

    enabled: bool = Field(False, description="Inject bad records at the rates below.")
    malformed_json: float = Field(0.002, ge=0, le=0.2, description="Lines that are not JSON.")
    missing_field: float = Field(0.002, ge=0, le=0.2, description="A required field removed.")
    wrong_type: float = Field(0.002, ge=0, le=0.2, description="A field with a value of the wrong type.")
    bad_timestamp: float = Field(0.001, ge=0, le=0.2, description="Timestamps outside the plausible range.")
    unknown_event_type: float = Field(0.001, ge=0, le=0.2, description="An event type not in the schema.")
    duplicate: float = Field(0.002, ge=0, le=0.2, description="Exact repeats of a record in the same batch.")
    oversized_text: float = Field(0.0005, ge=0, le=0.2, description="Text above the ingest size limit.")
    invalid_utf8: float = Field(0.0005, ge=0, le=0.2, description="Lines with bytes that are not UTF-8.")


class SimulateConfig(Strict):
    """A social platform with planted ground truth."""

    profile: str = Field("default", description="Named size: tiny | default | custom (use the sizes below).")
    users: int = Field(5000, ge=10, description="Number of users.")
    events: int = Field(500_000, ge=100, description="Approximate number of events.")
    days: int = Field(28, ge=1, le=3650, description="Days of activity.")
    start_date: str = Field("2026-10-01", description="First day of activity (UTC, ISO date).")
    communities: int = Field(8, ge=1, description="Planted communities.")
    topics: int = Field(12, ge=2, description="Content categories / latent topics.")
    inter_community_edge_share: float = Field(0.1, ge=0, le=1, description="Share of follow edges between communities.")
    influencers_per_community: int = Field(3, ge=0, description="Planted influencers per community.")
    bot_share: float = Field(0.01, ge=0, le=0.5, description="Share of users that are bots.")
    trends: int = Field(6, ge=0, description="Planted hashtag bursts.")
    campaigns: int = Field(5, ge=0, description="Ad campaigns.")
    partitions: int = Field(8, ge=1, description="Parallel generation tasks.")
    formats: list[str] = Field(default_factory=lambda: ["json"], description="Landing formats: json and/or parquet.")
    seed: int = Field(42, description="Generator seed.")
    corruption: CorruptionConfig = Field(default_factory=CorruptionConfig)  # type: ignore[arg-type]

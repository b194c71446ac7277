"""Simulator sizes, planted structure and corruption rates."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field, model_validator

from socialflywheel.config._base import INT32_MAX, Seed, Strict
from socialflywheel.config.masking import bounded_repr

# Named sizes: a profile other than ``custom`` sets users, events and days to these values.
PROFILES: dict[str, dict[str, int]] = {
    "tiny": {"users": 300, "events": 20_000, "days": 14},
    "default": {"users": 5000, "events": 500_000, "days": 28},
}

CORRUPTION_KINDS = (
    "malformed_json",
    "missing_field",
    "wrong_type",
    "bad_timestamp",
    "unknown_event_type",
    "duplicate",
    "oversized_text",
    "invalid_utf8",
)


class CorruptionConfig(Strict):
    """Rates (share of valid records) of each kind of bad record added to the JSON landing files."""

    enabled: bool = Field(False, description="Inject bad records at the rates below.")
    malformed_json: float = Field(0.002, ge=0, le=0.2, description="Lines that are not JSON (truncated or garbled).")
    missing_field: float = Field(0.002, ge=0, le=0.2, description="A required field removed.")
    wrong_type: float = Field(0.002, ge=0, le=0.2, description="A field with a value of the wrong type.")
    bad_timestamp: float = Field(
        0.001, ge=0, le=0.2, description="Timestamps outside the plausible range or unparseable."
    )
    unknown_event_type: float = Field(0.001, ge=0, le=0.2, description="An event type not in the schema.")
    duplicate: float = Field(
        0.002, ge=0, le=0.2, description="Exact byte repeats of a valid line, later in the same file."
    )
    oversized_text: float = Field(
        0.0005, ge=0, le=0.2, description="Text above ingest.max_text_bytes (line otherwise valid)."
    )
    invalid_utf8: float = Field(0.0005, ge=0, le=0.2, description="Lines with bytes that are not UTF-8.")

    def rates(self) -> dict[str, float]:
        """Rate per corruption kind (all zero when disabled)."""
        return {k: (float(getattr(self, k)) if self.enabled else 0.0) for k in CORRUPTION_KINDS}


LandingFormat = Literal["json", "parquet"]


def _json_only() -> list[LandingFormat]:
    return ["json"]


class SimulateConfig(Strict):
    """A social platform with planted ground truth.

    ``profile: tiny`` (300 users, 20k events, 14 days) and ``profile: default`` (5,000 users,
    500k events, 28 days) set ``users``, ``events`` and ``days``; ``profile: custom`` takes them as given.
    """

    profile: Literal["tiny", "default", "custom"] = Field(
        "default", description="Named size: tiny | default set users/events/days; custom uses the sizes below."
    )
    users: int = Field(
        5000, ge=10, le=INT32_MAX, description="Number of users (replaced by the profile unless profile=custom)."
    )
    events: int = Field(
        500_000, ge=100, le=2**40, description="Approximate number of valid events (profile unless custom)."
    )
    days: int = Field(28, ge=1, le=3650, description="Days of activity (profile unless custom).")
    start_date: dt.date = Field(
        dt.date(2026, 10, 1),
        ge=dt.date(1970, 1, 1),
        le=dt.date(2999, 12, 31),
        description="First day of activity (UTC, ISO date).",
    )
    communities: int = Field(8, ge=1, le=100_000, description="Planted communities (stochastic-block follow graph).")
    topics: int = Field(12, ge=2, le=24, description="Content categories / latent interest topics.")
    inter_community_edge_share: float = Field(
        0.1, ge=0, le=0.9, description="Share of current follow edges between communities (bots' edges included)."
    )
    influencers_per_community: int = Field(3, ge=0, le=100_000, description="Planted influencers per community.")
    bot_share: float = Field(0.01, ge=0, le=0.5, description="Share of users that are bots.")
    unfollow_share: float = Field(0.06, ge=0, le=0.5, description="Share of follow edges later unfollowed.")
    triadic_share: float = Field(
        0.35,
        ge=0,
        le=0.9,
        description="Share of a user's later follows closing a triangle (a followee's followee), as graphs grow.",
    )
    trends: int = Field(6, ge=0, le=100_000, description="Planted hashtag bursts.")
    campaigns: int = Field(5, ge=0, le=100_000, description="Ad campaigns.")
    post_share: float = Field(0.03, gt=0, le=0.5, description="Share of events that are posts.")
    follow_share: float = Field(0.1, gt=0, le=0.5, description="Target share of events that are follows/unfollows.")
    partitions: int = Field(
        8, ge=1, le=100_000, description="Parallel generation tasks (one landing file per task and date)."
    )
    formats: list[LandingFormat] = Field(
        default_factory=_json_only,
        description="Landing formats: json and/or parquet.",
    )
    seed: Seed = Field(42, description="Generator seed; the same seed and sizes give byte-identical landing files.")
    corruption: CorruptionConfig = Field(default_factory=CorruptionConfig)

    @model_validator(mode="before")
    @classmethod
    def _apply_profile(cls, data: object) -> object:
        profile = data.get("profile", "default") if isinstance(data, dict) else None
        if isinstance(data, dict) and isinstance(profile, str) and profile in PROFILES:
            for key, value in PROFILES[profile].items():
                given = data.get(key)
                # Compared without str(): str() of an alias bomb or a 10,000-digit int hangs or raises.
                if given is not None and not (given == value or (isinstance(given, str) and given == str(value))):
                    # An explicit size that the profile would silently replace is a mistake: say so.
                    raise ValueError(
                        f"simulate.{key}={bounded_repr(given)} conflicts with profile '{profile}' ({key}={value}); "
                        "set simulate.profile=custom to choose sizes"
                    )
            data = {**data, **PROFILES[profile]}
        return data

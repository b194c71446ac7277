"""What a features run rebuilds (its plan) and the date ranges and user pieces it builds each table in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from socialflywheel.config.stages import FeaturesConfig

Mode = Literal["full", "incremental", "noop"]


@dataclass(frozen=True)
class Plan:
    """What a features run rebuilds."""

    mode: Mode
    max_event_date: dt.date
    features_since: str | None = None
    """First as-of date of the user and item snapshots to rewrite (ISO); None: all."""
    examples_since: str | None = None
    """First event date of the training examples to rewrite (ISO); None: all."""


def date_spans(
    since: str | None, first: dt.date, last: dt.date, *, chunk_days: int
) -> list[tuple[str | None, str | None]]:
    """The ``(since, until)`` date ranges a table is built in, oldest first.

    A full build (``since`` None) covers ``first``..``last``, an incremental run ``since``..``last``; each in chunks
    of ``chunk_days`` days (0: one piece). A full build's first chunk has no ``since`` (it replaces the table) and
    every last chunk no ``until`` (it runs to the last event date).
    """
    if chunk_days <= 0:
        return [(since, None)]
    spans: list[tuple[str | None, str | None]] = []
    c0 = dt.date.fromisoformat(since) if since else first
    while c0 <= last:
        c1 = c0 + dt.timedelta(days=chunk_days - 1)
        spans.append((c0.isoformat() if spans or since else None, c1.isoformat() if c1 < last else None))
        c0 = c1 + dt.timedelta(days=1)
    return spans


def user_buckets(fc: FeaturesConfig, people: int) -> int:
    """How many pieces the user snapshots are built in for ``people`` (rows of silver.users)."""
    return max(1, -(-people // fc.users_per_bucket)) if fc.users_per_bucket > 0 else 1


def snapshot_spans(plan: Plan, first: dt.date, *, chunk_days: int) -> list[tuple[str | None, str | None]]:
    """The as-of ranges of the user and item snapshots a run writes (:func:`date_spans` of its plan)."""
    return date_spans(plan.features_since, first, plan.max_event_date, chunk_days=chunk_days)


def user_chunk_days(fc: FeaturesConfig) -> int:
    """Days per chunk of the user snapshots: ``chunk_days``, but never fewer than the longest window.

    A user chunk reads its days and the longest window before them; shorter chunks would read the same lookback
    again and again (on a 28-day lake with 28-day windows, 7-day chunks took 2.6 times as long as one piece and held
    more, measured at 1M events), so a chunk reads at most twice its own days.
    """
    return 0 if fc.chunk_days <= 0 else max(fc.chunk_days, max(fc.windows_days))

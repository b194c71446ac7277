"""Engagement figures for the report, from silver.events.

Daily, weekly and monthly actives, the engagement rate, new vs returning people, the view -> like/comment -> share
funnel and weekly cohort retention.

silver.events is streamed (three columns, a million rows at a time) into the distinct (day, person, kind) triples a
person's activity reduces to; every figure is computed from those, so memory follows people x days, not events.
Each figure counts distinct people (pseudonyms); the report hides any count of fewer than ``k`` people.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

KINDS = {"view": "view", "like": "engage", "comment": "engage", "share": "share"}
"""Event types by funnel step; every other type (post, follow, click, search, ...) counts as activity only."""
ENGAGED = ("like", "comment", "share")
"""The events of the engagement rate's numerator (its denominator: views)."""
BATCH_ROWS = 1 << 20


@dataclass
class Activity:
    """Who did what on which day: distinct (day, user_id, kind) rows, and event counts per (day, event_type).

    ``day`` is the UTC day as days since 1970-01-01 (an integer: windows are ranges of them).
    """

    triples: pd.DataFrame
    counts: pd.DataFrame

    @property
    def first_day(self) -> int | None:
        """The first day with activity (None: none)."""
        return None if self.triples.empty else int(self.triples["day"].min())

    @property
    def last_day(self) -> int | None:
        """The last day with activity (None: none)."""
        return None if self.triples.empty else int(self.triples["day"].max())


def as_date(day: int) -> dt.date:
    """A day number of :class:`Activity` as a date."""
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(day))


def read_activity(lake: Lake) -> Activity | None:
    """Stream silver.events into :class:`Activity` (None when the table does not exist).

    A dated lake (``lake.until``) stops at its date.
    """
    from socialflywheel.recsys._arrow import iter_batches, seconds, table_files

    if not lake.exists("silver.events"):
        return None
    files, _ = table_files(lake, "silver.events")
    triples: list[pd.DataFrame] = []
    counts: list[pd.DataFrame] = []
    for part in iter_batches(files, ["user_id", "event_type", "ts"], batch_rows=BATCH_ROWS):
        frame = part.batch.select(["user_id", "event_type"]).to_pandas()
        frame["day"] = seconds(part.batch.column("ts")) // 86_400  # UTC days
        if lake.until is not None:
            frame = frame[frame["day"] <= (lake.until - dt.date(1970, 1, 1)).days]
        frame["kind"] = frame["event_type"].map(KINDS).fillna("other")
        triples.append(frame[["day", "user_id", "kind"]].drop_duplicates())
        counts.append(frame.groupby(["day", "event_type"]).size().rename("events").reset_index())
    if not triples:
        empty = pd.DataFrame({"day": [], "user_id": [], "kind": []})
        return Activity(empty, pd.DataFrame({"day": [], "event_type": [], "events": []}))
    all_triples = pd.concat(triples, ignore_index=True).drop_duplicates(ignore_index=True)
    all_counts = (
        pd.concat(counts, ignore_index=True)
        .groupby(["day", "event_type"], as_index=False)
        .agg(events=("events", "sum"))
    )
    return Activity(all_triples, all_counts)


@dataclass(frozen=True)
class Kpi:
    """One headline figure over a window ending on the last day, and the same over the window before it."""

    name: str
    label: str
    value: float | None
    previous: float | None
    kind: str = "int"

    @property
    def delta(self) -> float | None:
        """The relative change against the previous window (None without one, or from zero)."""
        if self.value is None or not self.previous:
            return None
        return (self.value - self.previous) / self.previous


def _window(days: pd.Series, last: int, length: int, back: int = 0) -> pd.Series:
    end = last - back * length
    return (days > end - length) & (days <= end)


def _covered(first: int, last: int, length: int, back: int) -> bool:
    """Whether the data reach back to the whole window ``back`` windows before the last one."""
    return last - ((back + 1) * length - 1) >= first


def kpis(activity: Activity) -> list[Kpi]:
    """DAU, WAU, MAU (28 days), the engagement rate and new vs returning people over the last 7 days.

    Each with the window before it, for the change (None where the data do not cover that window).
    """
    t, counts = activity.triples, activity.counts
    first, last = activity.first_day, activity.last_day
    if first is None or last is None:
        return []

    def actives(length: int, back: int) -> float | None:
        if not _covered(first, last, length, back):
            return None
        return float(t.loc[_window(t["day"], last, length, back), "user_id"].nunique())

    def rate(back: int) -> float | None:
        if not _covered(first, last, 7, back):
            return None
        part = counts[_window(counts["day"], last, 7, back)]
        views = part.loc[part["event_type"] == "view", "events"].sum()
        return float(part.loc[part["event_type"].isin(ENGAGED), "events"].sum() / views) if views else None

    start = t.groupby("user_id")["day"].min()

    def split(back: int) -> tuple[float | None, float | None]:
        if not _covered(first, last, 7, back):
            return None, None
        people = pd.Index(t.loc[_window(t["day"], last, 7, back), "user_id"].unique())
        new = _window(start.reindex(people), last, 7, back).sum()
        return float(new), float(len(people) - new)

    (new, returning), (new_before, returning_before) = split(0), split(1)
    return [
        Kpi("dau", f"DAU ({as_date(last).isoformat()})", actives(1, 0), actives(1, 1)),
        Kpi("wau", "WAU (7 days)", actives(7, 0), actives(7, 1)),
        Kpi("mau", "MAU (28 days)", actives(28, 0), actives(28, 1)),
        Kpi("engagement_rate", "likes, comments and shares per view (7 days)", rate(0), rate(1), "pct"),
        Kpi("new_users", "new people (first seen in the last 7 days)", new, new_before),
        Kpi("returning_users", "returning people (7 days)", returning, returning_before),
    ]


def funnel(activity: Activity) -> pd.DataFrame:
    """People over the whole period who viewed; of them, who liked or commented; of those, who shared."""
    t = activity.triples
    viewed = set(t.loc[t["kind"] == "view", "user_id"])
    engaged = viewed & set(t.loc[t["kind"] == "engage", "user_id"])
    shared = engaged & set(t.loc[t["kind"] == "share", "user_id"])
    steps = [("viewed", len(viewed)), ("liked or commented", len(engaged)), ("shared", len(shared))]
    frame = pd.DataFrame(steps, columns=["step", "people"])
    frame["of_previous"] = frame["people"] / frame["people"].shift(1)
    frame["of_viewers"] = frame["people"] / max(len(viewed), 1)
    return frame


def cohort_retention(activity: Activity) -> pd.DataFrame:
    """Weekly cohorts (the week of each person's first activity) and the share of each active in its week 0, 1, ...

    Weeks are 7-day blocks from the first day of the data. Columns: ``cohort`` (its first day), ``size`` and
    ``week_<n>`` shares (NaN where the data end before that week).
    """
    t = activity.triples
    first = activity.first_day
    if first is None:
        return pd.DataFrame(columns=["cohort", "size"])
    week = (t["day"] - first) // 7
    pairs = pd.DataFrame({"user_id": t["user_id"], "week": week}).drop_duplicates()
    cohort = pairs.groupby("user_id")["week"].min().rename("cohort")
    pairs = pairs.join(cohort, on="user_id")
    pairs["age"] = pairs["week"] - pairs["cohort"]
    active = pairs.groupby(["cohort", "age"])["user_id"].nunique().unstack(fill_value=0)
    sizes = cohort.value_counts().sort_index()
    last_week = int(week.max())
    shares = active.div(sizes, axis=0)
    for c in shares.index:  # a cohort's weeks past the data's end are unknown, not zero
        shares.loc[c, [a for a in shares.columns if c + a > last_week]] = np.nan
    out = shares.rename(columns=lambda a: f"week_{a}").reset_index()
    out.insert(1, "size", out["cohort"].map(sizes))
    out["cohort"] = out["cohort"].map(lambda c: as_date(first + 7 * int(c)))
    return out

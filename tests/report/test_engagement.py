"""The report's engagement figures: invariants over any activity, and each figure against a direct count."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.report.engagement import Activity, as_date, cohort_retention, funnel, kpis

TYPES = ["view", "like", "comment", "share", "post", "follow"]


def _activity(events: list[tuple[int, int, str]]) -> Activity:
    frame = pd.DataFrame(events, columns=["day", "user", "event_type"])
    frame["user_id"] = "u" + frame["user"].astype(str)
    frame["kind"] = frame["event_type"].map({"view": "view", "like": "engage", "comment": "engage", "share": "share"})
    frame["kind"] = frame["kind"].fillna("other")
    triples = frame[["day", "user_id", "kind"]].drop_duplicates(ignore_index=True)
    counts = frame.groupby(["day", "event_type"]).size().rename("events").reset_index()
    return Activity(triples, counts)


EVENTS = st.lists(
    st.tuples(st.integers(20_000, 20_040), st.integers(0, 30), st.sampled_from(TYPES)), min_size=1, max_size=300
)


@given(EVENTS)
@settings(max_examples=100, deadline=None)
def test_figures_hold_their_invariants_for_any_activity(events: list[tuple[int, int, str]]) -> None:
    activity = _activity(events)
    frame = pd.DataFrame(events, columns=["day", "user", "event_type"])
    last = frame["day"].max()
    by_name = {k.name: k for k in kpis(activity)}
    # DAU and WAU: distinct people on the last day / in its 7 days (a direct count)
    assert by_name["dau"].value == frame.loc[frame["day"] == last, "user"].nunique()
    week = frame[frame["day"] > last - 7]
    wau = by_name["wau"]
    assert wau.value == (week["user"].nunique() if frame["day"].min() <= last - 6 else None)
    if wau.value is not None:  # every person of the week is new or returning, never both
        assert by_name["new_users"].value + by_name["returning_users"].value == wau.value
        firsts = frame.groupby("user")["day"].min()
        assert by_name["new_users"].value == (firsts.loc[week["user"].unique()] > last - 7).sum()
        views = (week["event_type"] == "view").sum()
        engaged = week["event_type"].isin(["like", "comment", "share"]).sum()
        assert by_name["engagement_rate"].value == (engaged / views if views else None)
    steps = funnel(activity)
    assert list(steps["people"]) == sorted(steps["people"], reverse=True)  # each step is a subset of the one before
    cohorts = cohort_retention(activity)
    assert cohorts["size"].sum() == frame["user"].nunique()  # every person in exactly one cohort
    assert (cohorts["week_0"] == 1.0).all()  # a cohort is active in its own first week by definition
    first = frame["day"].min()
    for row in cohorts.to_dict("records"):
        c = (row["cohort"] - as_date(first)).days // 7
        members = {u for u, d in frame.groupby("user")["day"].min().items() if (d - first) // 7 == c}
        for col in [k for k in row if k.startswith("week_")]:
            a = int(col.removeprefix("week_"))
            active = {u for u, d in zip(frame["user"], frame["day"], strict=True) if (d - first) // 7 == c + a}
            expected = len(members & active) / len(members) if c + a <= (last - first) // 7 else None
            got = row[col]
            assert (pd.isna(got) and expected is None) or got == expected, (row, col)


def test_a_window_the_data_do_not_cover_has_no_figure() -> None:
    activity = _activity([(20_000 + d, u, "view") for d in range(10) for u in range(d + 1)])
    by_name = {k.name: k for k in kpis(activity)}
    assert by_name["dau"].value == 10 and by_name["dau"].previous == 9
    assert by_name["dau"].delta == (10 - 9) / 9
    assert by_name["wau"].value == 10 and by_name["wau"].previous is None and by_name["wau"].delta is None
    assert by_name["mau"].value is None  # 10 days of data: no 28-day window
    assert as_date(20_000) == dt.date(2024, 10, 4)

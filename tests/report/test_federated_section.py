"""The report's federated-trends section: states, privacy figures and agreement with the central daily job."""

from __future__ import annotations

import re

import pandas as pd

from socialflywheel.report.federated import agreement, federated_trends

T = pd.Timestamp


def _federated() -> pd.DataFrame:
    rows = [("derby", "2026-10-11", "2026-10-12", 160), ("eclipse", "2026-10-10", "2026-10-11", 90)]
    rows += [("weekend", "2026-10-20", "2026-10-21", 40)]
    return pd.DataFrame(
        {
            "run_id": "r1",
            "privacy": "secagg",
            "epsilon_per_day": None,
            "epsilon_total": 2.0,
            "delta": 2.5e-5,
            "cap": 2,
            "clients": 3907,
            "hashtag": [r[0] for r in rows],
            "start_ts": [T(r[1], tz="UTC") for r in rows],
            "end_ts": [T(r[2], tz="UTC") for r in rows],
            "peak_ts": [T(r[1], tz="UTC") for r in rows],
            "buckets": 1,
            "uses": [r[3] for r in rows],
            "baseline": 1.0,
            "strength": 6.0,
        }
    )


def _central() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "granularity": ["day", "day", "hour"],
            "hashtag": ["derby", "eclipse", "weekend"],
            "start_ts": [T("2026-10-11", tz="UTC"), T("2026-10-14", tz="UTC"), T("2026-10-20 05:00", tz="UTC")],
            "end_ts": [T("2026-10-13", tz="UTC"), T("2026-10-15", tz="UTC"), T("2026-10-20 09:00", tz="UTC")],
        }
    )


def test_agreement_is_an_overlap_with_a_central_daily_trend_of_the_same_hashtag() -> None:
    # derby overlaps; eclipse's central trend starts days later; weekend's is hourly only
    assert agreement(_federated(), _central()).tolist() == [True, False, False]
    assert agreement(_federated(), None).tolist() == [None, None, None]


def test_the_section_shows_the_privacy_and_every_trend() -> None:
    html = str(federated_trends(_federated(), _central()))
    metrics = dict(re.findall(r'data-metric="([^"]+)" data-value="([^"]*)"', html))
    assert metrics["federated:trends"] == "3" and metrics["federated:clients"] == "3907"
    assert float(metrics["federated:epsilon_total"]) == 2.0 and float(metrics["federated:delta"]) == 2.5e-5
    assert abs(float(metrics["federated:agreement"]) - 1 / 3) < 1e-9
    assert "secure aggregation (SecAgg+)" in html and 'data-state="ok"' in html
    assert federated_trends(None, None).state == "missing"
    assert federated_trends(_federated().iloc[:0], None).state == "empty"

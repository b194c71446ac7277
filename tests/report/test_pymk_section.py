"""The people-you-may-know section on planted gold.pymk_quality rows (#19)."""

from __future__ import annotations

import pandas as pd

from socialflywheel.report.pymk import pymk_quality

K = 10


def _runs(*rows: tuple[str, int, float, float]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"as_of": pd.Timestamp(at), "holdout_days": 7, "k": 20, "graph": "follows", "held_out_follows": held,
             "recall": recall, "baseline_recall": base, "evaluated_at": pd.Timestamp(at) + pd.Timedelta(hours=1)}
            for at, held, recall, base in rows
        ]
    )  # fmt: skip


def test_the_latest_run_is_shown_against_its_baseline() -> None:
    html = pymk_quality(_runs(("2026-11-01", 800, 0.20, 0.05), ("2026-11-08", 900, 0.25, 0.06)), K)
    assert html.state == "ok" and "data-warning" not in html
    assert 'data-metric="pymk:recall" data-value="0.25"' in html
    assert 'data-metric="pymk:held_out" data-value="900"' in html


def test_losing_to_the_baseline_is_a_warning() -> None:
    html = pymk_quality(_runs(("2026-11-08", 900, 0.04, 0.06)), K)
    assert 'data-warning="pymk"' in html and "-2.0 points" in html


def test_runs_on_fewer_than_k_follows_are_not_shown() -> None:
    html = pymk_quality(_runs(("2026-11-01", 800, 0.20, 0.05), ("2026-11-08", K - 1, 1.0, 0.0)), K)
    assert 'data-metric="pymk:recall" data-value="0.2"' in html and "1 graph runs hidden" in html
    assert pymk_quality(_runs(("2026-11-08", K - 1, 1.0, 0.0)), K).state == "empty"
    assert pymk_quality(None, K).state == "missing"

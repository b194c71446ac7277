"""The model section's registered versions and its serving warning, on registry records planted for each case."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from socialflywheel.report.models import model_metrics, serving_warning

ALIAS = "champion"


def _versions(*rows: dict[str, object]) -> pd.DataFrame:
    base = {"registered": "2026-12-01 00:00", "champion_rescored_at_50": math.nan, "promotion": "a reason"}
    return pd.DataFrame([{**base, **r} for r in rows])


def _v(version: int, score: float, baseline: float, holdout: str, serving: bool, **more: object) -> dict[str, object]:
    return {
        "version": version,
        "recall_at_50": score,
        "best_baseline_at_50": baseline,
        "fingerprint": holdout,
        "serving": serving,
        **more,
    }


@pytest.mark.parametrize(
    ("rows", "expect"),
    [
        # the newest serves and beats its baseline: nothing to say
        ([_v(2, 0.30, 0.20, "h2", True), _v(1, 0.25, 0.20, "h1", False)], None),
        # nobody serves
        ([_v(1, 0.10, 0.20, "h1", False)], "No version holds the serving alias 'champion'"),
        # an older version serves on the same holdout and beats the newest and the baseline
        ([_v(2, 0.24, 0.20, "h", False), _v(1, 0.26, 0.20, "h", True)], None),
        # same holdout, but the baseline beats the serving version
        ([_v(2, 0.18, 0.22, "h", False), _v(1, 0.21, 0.20, "h", True)], "not above the best baseline's 0.2200"),
        # same holdout, the newest scores higher but was held back (e.g. the promotion margin)
        ([_v(2, 0.30, 0.20, "h", False, promotion="margin"), _v(1, 0.25, 0.2, "h", True)], "above the serving v1"),
        # another holdout, re-scored on the newest's: above its baseline, nothing to say
        ([_v(2, 0.30, 0.20, "h2", False, champion_rescored_at_50=0.31), _v(1, 0.25, 0.2, "h1", True)], None),
        # another holdout, re-scored below the newest holdout's baseline
        ([_v(2, 0.30, 0.33, "h2", False, champion_rescored_at_50=0.31), _v(1, 0.25, 0.2, "h1", True)], "0.3100"),
        # another holdout, never re-scored (the newest lost to its baseline first)
        ([_v(2, 0.10, 0.20, "h2", False, promotion="lost"), _v(1, 0.25, 0.2, "h1", True)], "not re-scored"),
        # a serving version at or below its own baseline (an alias set by hand)
        ([_v(1, 0.20, 0.20, "h", True)], "a baseline would serve better"),
    ],
)
def test_serving_warning_names_what_the_records_show(rows: list[dict[str, object]], expect: str | None) -> None:
    got = serving_warning(_versions(*rows), ALIAS)
    if expect is None:
        assert got is None
    else:
        assert got is not None and expect in got


def test_the_section_lists_every_version_and_shows_the_warning() -> None:
    evaluation = pd.DataFrame(
        [
            {"split": "test", "model": m, "k": k, "recall": r, "ndcg": r / 2}
            for m, r in (("two_tower", 0.18), ("most_popular", 0.22), ("ials", 0.2))
            for k in (10, 50)
        ]
    )
    run = {"run_id": "r", "run_name": "n", "start_time": "t", "promoted": "False", "promotion": "lost"}
    versions = _versions(_v(2, 0.18, 0.22, "h", False), _v(1, 0.21, 0.20, "h", True))
    html = model_metrics(evaluation, run, versions, alias=ALIAS)
    assert html.state == "ok" and 'data-warning="serving-model"' in html
    assert 'data-metric="version:1:serving" data-value="champion"' in html
    assert 'data-metric="version:2:recall_at_50" data-value="0.18"' in html
    quiet = model_metrics(evaluation, run, None, alias=ALIAS)
    assert "data-warning" not in quiet and "version-table" not in quiet

"""Fairness against the configured limits and the version before (#19), on planted gold.recommendation_fairness rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from socialflywheel.config.stages import FairnessThresholds
from socialflywheel.report.data import fairness_checks
from socialflywheel.report.sections import fairness

K = 10


def _version(version: str, at: str, *, gini: float, coverage: float, emerging: tuple[float, float, int, int]) -> list:
    exposure, catalogue, creators, users = emerging
    common = {"model_version": version, "generated_at": pd.Timestamp(at), "gini_exposure": gini}
    common["catalogue_coverage"] = coverage
    return [
        {**common, "dimension": "overall", "group_key": "all", "creators": 100, "users": 300, "items": 500,
         "exposure_share": 1.0, "catalogue_share": 1.0, "impression_share": 1.0},
        {**common, "dimension": "creator_tier", "group_key": "emerging", "creators": creators, "users": users,
         "items": 100, "exposure_share": exposure, "catalogue_share": catalogue, "impression_share": exposure},
        {**common, "dimension": "creator_tier", "group_key": "top", "creators": 20, "users": 300, "items": 100,
         "exposure_share": 1 - exposure, "catalogue_share": 1 - catalogue, "impression_share": 1 - exposure},
    ]  # fmt: skip


def _frame(*versions: list) -> pd.DataFrame:
    return pd.DataFrame([row for v in versions for row in v])


def test_each_check_is_judged_against_its_limit_and_the_version_before() -> None:
    old = _version("1", "2026-11-01", gini=0.80, coverage=0.30, emerging=(0.10, 0.25, 40, 200))
    new = _version("2", "2026-11-08", gini=0.93, coverage=0.12, emerging=(0.05, 0.25, 40, 200))
    checks = fairness_checks(_frame(new, old), FairnessThresholds(), K).set_index("metric")  # order is by time
    assert checks.loc["gini", "value"] == pytest.approx(0.93) and checks.loc["gini", "previous"] == pytest.approx(0.80)
    assert checks.loc["gini", "change"] == pytest.approx(0.13) and checks.loc["gini", "verdict"] == "breached"
    assert checks.loc["coverage", "verdict"] == "within" and checks.loc["coverage", "change"] == pytest.approx(-0.18)
    assert checks.loc["emerging", "value"] == pytest.approx(0.2) and checks.loc["emerging", "previous"] == 0.4
    assert checks.loc["emerging", "verdict"] == "breached"
    loose = FairnessThresholds(max_gini_exposure=0.95, min_emerging_exposure_ratio=0.2)
    assert set(fairness_checks(_frame(old, new), loose, K)["verdict"]) == {"within"}


@pytest.mark.parametrize(("creators", "users"), [(K - 1, 200), (40, K - 1)])
def test_a_group_hidden_by_k_gives_no_figure(creators: int, users: int) -> None:
    only = _version("1", "2026-11-01", gini=0.5, coverage=0.5, emerging=(0.1, 0.25, creators, users))
    checks = fairness_checks(_frame(only), FairnessThresholds(), K).set_index("metric")
    assert checks.loc["emerging", "verdict"] == "hidden" and math.isnan(checks.loc["emerging", "value"])
    assert math.isnan(checks.loc["gini", "previous"])  # one version: nothing before it


def test_the_section_warns_when_a_limit_is_breached() -> None:
    fine = _version("1", "2026-11-01", gini=0.5, coverage=0.5, emerging=(0.2, 0.25, 40, 200))
    bad = _version("2", "2026-11-08", gini=0.99, coverage=0.01, emerging=(0.2, 0.25, 40, 200))
    quiet, loud = fairness(_frame(fine), None, K), fairness(_frame(fine, bad), None, K)
    assert "data-warning" not in quiet and 'data-metric="fairness-check:gini:verdict" data-value="within"' in quiet
    assert 'data-warning="fairness"' in loud and "2 fairness limits breached" in loud

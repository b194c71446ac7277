"""The account-risk section's k-suppression, on planted gold.account_risk rows (#19)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.report.risk import account_risk, score_histogram, signal_medians

K = 10


def _risk(scores: list[float], flagged_above: float = 0.5) -> pd.DataFrame:
    n = len(scores)
    return pd.DataFrame(
        {
            "user_id": [f"p{i:04d}" for i in range(n)],
            "events": np.arange(n) + 1,
            "like_rate": np.linspace(0, 1, n),
            "follow_burst": 0.2,
            "followee_follower_ratio": 1.0,
            "dwell_geomean_ms": 5000.0,
            "coordination": 0.0,
            "score": scores,
            "is_risky": np.asarray(scores) > flagged_above,
        }
    )


@given(st.lists(st.floats(0, 1), min_size=1, max_size=300))
@settings(max_examples=200, deadline=None)
def test_no_shown_bin_counts_fewer_than_k_accounts(scores: list[float]) -> None:
    bins, hidden = score_histogram(_risk(scores), K)
    assert all(n == 0 or n >= K for n in bins["accounts"])
    assert bins["accounts"].sum() <= len(scores) and len(bins) == 10 and hidden >= 0
    full, _ = score_histogram(_risk(scores), 1)  # k=1 hides nothing: the bins add up to every account
    assert full["accounts"].sum() == len(scores)


def test_medians_of_a_group_under_k_are_not_shown() -> None:
    few = _risk([0.9] * (K - 1) + [0.1] * 50)
    medians = signal_medians(few, K).set_index("column")
    assert medians["flagged"].isna().all() and medians.loc["score", "others"] == 0.1
    many = _risk([0.9] * K + [0.1] * 50)
    assert signal_medians(many, K).set_index("column").loc["score", "flagged"] == 0.9


def test_the_section_hides_a_small_flagged_count_and_names_nobody() -> None:
    html = account_risk(_risk([0.9] * 3 + [0.1] * 60), K)
    assert html.state == "ok" and f"flagged: hidden (fewer than {K})" in html
    assert not any(f"p{i:04d}" in html for i in range(63))
    shown = account_risk(_risk([0.9] * 12 + [0.1] * 60), K)
    assert 'data-metric="risk:flagged" data-value="12"' in shown
    assert account_risk(None, K).state == "missing" and account_risk(_risk([0.1] * 3), K).state == "empty"

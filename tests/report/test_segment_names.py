"""Segments named from what sets them apart, and their profiles in the units people read (#19)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from socialflywheel.report.data import readable_feature, segment_names

FEATURES = ["log1p_share_7d", "log1p_view_28d", "affinity_music", "engagement_rate_7d", "log1p_dwell_p90"]


@pytest.mark.parametrize(
    ("name", "stored", "header", "value", "kind"),
    [
        ("log1p_share_7d", math.log1p(3.0), "shares per week", 3.0, "num"),
        ("log1p_ad_impression_28d", math.log1p(12.0), "ad impressions per 4 weeks", 12.0, "num"),
        ("log1p_dwell_p90", math.log1p(8000.0), "dwell p90 (s)", 8.0, "num"),
        ("log1p_followers", math.log1p(41.0), "followers", 41.0, "num"),
        ("affinity_music", 0.25, "affinity: music", 0.25, "pct"),
        ("engagement_rate_1d", 0.1, "engagement rate per day", 0.1, "pct"),
        ("active_days_28d", 7.5, "active days per 4 weeks", 7.5, "num"),
        ("days_since_last_event", 2.0, "days since last event", 2.0, "num"),
    ],
)
def test_features_read_in_their_units(name: str, stored: float, header: str, value: float, kind: str) -> None:
    got = readable_feature(name, stored)
    assert got[0] == header and got[1] == pytest.approx(value) and got[2] == kind


def test_planted_segments_get_the_names_of_what_sets_them_apart() -> None:
    means = pd.DataFrame(
        [
            [math.log1p(30), math.log1p(200), 0.10, 0.30, math.log1p(9000)],  # shares a lot
            [math.log1p(2), math.log1p(220), 0.80, 0.25, math.log1p(9500)],  # music
            [math.log1p(2), math.log1p(15), 0.10, 0.28, math.log1p(9200)],  # barely views
        ],
        columns=FEATURES,
        index=[4, 7, 9],
    )
    names = segment_names(means)
    assert names[4] == "Heavy sharers" and names[7] == "Music fans" and names[9] == "Light viewers"


@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.just(len(FEATURES))), elements=st.floats(0, 10)))
@settings(max_examples=200, deadline=None)
def test_every_segment_gets_one_distinct_non_empty_name(values: np.ndarray) -> None:
    means = pd.DataFrame(values, columns=FEATURES, index=range(100, 100 + len(values)))
    names = segment_names(means)
    assert set(names) == set(means.index) and all(names.values())
    assert len(set(names.values())) == len(names)

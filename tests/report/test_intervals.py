"""Campaign CTR intervals: scipy's Wilson score interval against its closed form, for any clicks and impressions."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.report.sections import wilson

Z = 1.959963984540054  # the normal quantile of 0.975


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, 10**7))
    return draw(st.integers(0, n)), n


@given(st.lists(counts(), min_size=1, max_size=20))
@settings(max_examples=100, deadline=None)
def test_wilson_interval_is_the_closed_form_and_holds_the_rate(pairs: list[tuple[int, int]]) -> None:
    clicks = pd.Series([k for k, _ in pairs])
    impressions = pd.Series([n for _, n in pairs])
    got = wilson(clicks, impressions)
    for i, (k, n) in enumerate(pairs):
        p = k / n
        centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
        half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
        low, high = got["ctr_low"][i], got["ctr_high"][i]
        assert low == pytest.approx(max(0.0, centre - half), abs=1e-9)
        assert high == pytest.approx(min(1.0, centre + half), abs=1e-9)
        assert 0.0 <= low <= p <= high <= 1.0


def test_no_impressions_gives_no_interval() -> None:
    got = wilson(pd.Series([0, 3]), pd.Series([0, 10]))
    assert math.isnan(got["ctr_low"][0]) and math.isnan(got["ctr_high"][0]) and got["ctr_low"][1] > 0

"""The cross-engine comparator itself: float noise passes at any depth, a real difference fails."""

from __future__ import annotations

import pyarrow as pa
import pytest

from tests.cluster.compare import assert_same_rows


def test_float_noise_inside_maps_and_row_order_pass() -> None:
    a = pa.table({"k": [1, 2], "m": [{"x": 0.1 + 0.2}, {"x": 1.0}]})
    b = pa.table({"k": [2, 1], "m": [{"x": 1.0}, {"x": 0.3}]})
    assert_same_rows("t", a, b)


@pytest.mark.parametrize("other", [{"x": 0.30001}, {"y": 0.3}, {"x": 0.3, "y": 0.0}])
def test_a_real_difference_inside_a_map_fails(other: dict[str, float]) -> None:
    a = pa.table({"k": [1], "m": [{"x": 0.3}]})
    b = pa.table({"k": [1], "m": [other]})
    with pytest.raises(AssertionError):
        assert_same_rows("t", a, b)

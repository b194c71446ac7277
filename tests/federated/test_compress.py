"""Compressed updates: 8-bit error within half a step and 4x fewer bytes, top-k keeps the largest entries, and with
error feedback nothing is lost over rounds (what was sent sums to the true updates minus the last residual)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from socialflywheel.federated.compress import Compressor, payload_bytes

ARRAYS = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=12),
    elements=st.floats(-1e3, 1e3, width=32, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(ARRAYS)
def test_int8_is_within_half_a_step_of_every_entry(x: np.ndarray) -> None:
    c = Compressor("int8")
    payload = c.encode(x)
    back = c.decode(payload, x.shape)
    step = float(payload["scale"][0])
    assert back.shape == x.shape
    assert np.all(np.abs(back - x) <= step / 2 * (1 + 1e-5) + 1e-30)
    assert payload_bytes(payload) == x.size + 4


@settings(max_examples=200, deadline=None)
@given(ARRAYS, st.floats(0.01, 1.0))
def test_topk_keeps_the_largest_entries_and_only_them(x: np.ndarray, fraction: float) -> None:
    c = Compressor("topk", topk_fraction=fraction)
    payload = c.encode(x)
    back = c.decode(payload, x.shape).ravel()
    k = len(payload["index"])
    assert k == max(1, int(np.ceil(fraction * x.size)))
    kept = np.zeros(x.size, bool)
    kept[payload["index"]] = True
    assert np.array_equal(back[kept], x.ravel()[kept]) and not back[~kept].any()
    if k < x.size:  # nothing dropped is larger than anything kept
        assert np.abs(x.ravel()[~kept]).max() <= np.abs(x.ravel()[kept]).min()
    assert payload_bytes(payload) == 8 * k


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["int8", "topk"]), st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_error_feedback_loses_nothing_over_rounds(method: str, rounds: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    c = Compressor(method, topk_fraction=0.1)  # type: ignore[arg-type]
    residual, sent, true = None, np.zeros((7, 5), np.float64), np.zeros((7, 5), np.float64)
    for _ in range(rounds):
        u = rng.normal(size=(7, 5)).astype(np.float32)
        payload, residual = c.step(u, residual)
        sent += c.decode(payload, u.shape)
        true += u
    assert np.allclose(sent + residual, true, atol=1e-3)


def test_bytes_per_round_against_float32() -> None:
    x = np.random.default_rng(0).normal(size=100_000).astype(np.float32)
    full = payload_bytes(Compressor("none").encode(x))
    assert full / payload_bytes(Compressor("int8").encode(x)) >= 3.99
    assert full / payload_bytes(Compressor("topk", topk_fraction=0.01).encode(x)) >= 49.9


def test_bad_settings_and_payloads_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown compression method 'fp4'"):
        Compressor("fp4")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="topk_fraction"):
        Compressor("topk", topk_fraction=0)
    with pytest.raises(ValueError, match="cannot fill shape"):
        Compressor("int8").decode(Compressor("int8").encode(np.ones(4)), (5,))

"""The set-valued LDP mechanism: its privacy guarantee by exact enumeration, its draws and bits against that
oracle, and the server's estimate unbiased with the variance it states."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from socialflywheel.federated.ldp import SetOUE


def draw_oracle(mech: SetOUE, items: tuple[int, ...]) -> dict[int, float]:
    """P(the report encodes slot j | the person's set), from the mechanism's definition."""
    if len(items) > mech.cap:  # a uniform cap-subset, then a uniform slot of it: each item 1 / |set|
        return {i: 1 / len(items) for i in items}
    out = {i: 1 / mech.cap for i in items}
    out.update({mech.domain + k: 1 / mech.cap for k in range(len(items), mech.cap)})
    return out


def output_probability(mech: SetOUE, items: tuple[int, ...], bits: tuple[int, ...]) -> float:
    total = 0.0
    for j, pj in draw_oracle(mech, items).items():
        pr = pj
        for i, b in enumerate(bits):
            one = mech.p if i == j else mech.q
            pr *= one if b else 1 - one
        total += pr
    return total


@pytest.mark.parametrize("cap", [1, 2, 4])
@pytest.mark.parametrize("epsilon", [0.5, 2.0, 8.0])
def test_every_output_is_at_most_e_epsilon_more_likely_under_any_other_set(cap: int, epsilon: float) -> None:
    mech = SetOUE(domain=3, cap=cap, epsilon=epsilon)
    sets = [s for r in range(4) for s in itertools.combinations(range(3), r)]
    worst = 0.0
    for bits in itertools.product((0, 1), repeat=mech.bits):
        probs = [output_probability(mech, s, bits) for s in sets]
        worst = max(worst, max(probs) / min(probs))
    assert worst <= math.exp(epsilon) * (1 + 1e-9), (worst, math.exp(epsilon))
    if cap == 1:  # one slot: plain OUE, whose bound is tight (a wrong q or p would move it)
        assert worst == pytest.approx(math.exp(epsilon), rel=1e-9)


@pytest.mark.parametrize("items", [(), (4,), (0, 7), (1, 2, 3), (0, 2, 5, 6, 9)])
def test_draws_and_bits_follow_the_oracle(items: tuple[int, ...]) -> None:
    mech = SetOUE(domain=10, cap=3, epsilon=1.0)
    rng = np.random.default_rng(7)
    n = 30_000
    draws = np.array([mech.draw(np.array(items, dtype=np.int64), rng) for _ in range(n)])
    expected = draw_oracle(mech, items)
    assert set(np.unique(draws)) <= set(expected)
    for slot, pr in expected.items():
        assert abs((draws == slot).mean() - pr) <= 5 * math.sqrt(pr * (1 - pr) / n) + 1e-12, slot
    bits = np.stack([mech.unpack(mech.privatize(np.array(items, dtype=np.int64), rng)) for _ in range(n)])
    per_bit = np.array([mech.q + (mech.p - mech.q) * expected.get(i, 0.0) for i in range(mech.bits)])
    assert np.all(np.abs(bits.mean(axis=0) - per_bit) <= 5 * np.sqrt(per_bit * (1 - per_bit) / n))


def test_estimates_are_unbiased_with_the_stated_variance_and_a_stated_truncation() -> None:
    """Sets within the cap are counted without bias; a person holding more counts ``cap / |set|`` per item."""
    mech = SetOUE(domain=20, cap=2, epsilon=3.0)
    people = 2000
    sets = [
        np.array(
            ([1] if i < 50 else [2] if i < 450 else [])
            + ([3] if i < 1200 else [])
            + ([10, 11, 12, 13] if 1500 <= i < 1700 else []),  # 200 people over the cap: each item counts 2/4
            dtype=np.int64,
        )
        for i in range(people)
    ]
    truth = np.array([sum(k in s for s in sets) for k in range(20)], dtype=float)
    expected = truth.copy()
    expected[10:14] *= mech.cap / 4
    rng = np.random.default_rng(3)
    runs = 300
    est = np.stack(
        [
            mech.estimate(sum(mech.unpack(mech.privatize(s, rng)).astype(np.int64) for s in sets), people)
            for _ in range(runs)
        ]
    )
    var = np.asarray(mech.variance(people, truth))
    assert np.all(np.abs(est.mean(axis=0) - expected) <= 5 * np.sqrt(var / runs)), (est.mean(axis=0), expected)
    within = [0, 1, 2, 3, 4]  # items nobody holds beyond the cap: the stated variance holds
    assert np.allclose(est.var(axis=0, ddof=1)[within], var[within], rtol=0.25), (est.var(axis=0)[within], var[within])


def test_bad_parameters_and_reports_are_refused_naming_the_problem() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        SetOUE(domain=3, cap=1, epsilon=float("inf"))
    with pytest.raises(ValueError, match="cap"):
        SetOUE(domain=3, cap=0, epsilon=1.0)
    mech = SetOUE(domain=3, cap=1, epsilon=1.0)
    with pytest.raises(ValueError, match=r"0\.\.2"):
        mech.privatize(np.array([3]), np.random.default_rng(0))
    with pytest.raises(ValueError, match="1 bytes"):
        mech.unpack(np.zeros(2, np.uint8))

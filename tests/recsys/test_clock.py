"""ItemClock: the time prior's features per distinct hour equal a per-row plain-Python oracle."""

from __future__ import annotations

import math

import numpy as np
import torch

from socialflywheel.recsys.core.clock import WINDOWS_H, ItemClock


def _oracle(created: int, positives: list[int], t: int, t0: int) -> list[float]:
    """Age at the start of t's hour; positives strictly before that hour, in all and in the trailing windows."""
    hour = (t - t0) // 3600
    buckets = [(p - t0) // 3600 for p in positives]
    age = max(t0 + hour * 3600 - created, 0) / 3600.0
    row = [math.log1p(age) / 4.0, math.log1p(sum(b < hour for b in buckets)) / 4.0]
    row += [math.log1p(sum(hour - w <= b < hour for b in buckets)) / 4.0 for w in WINDOWS_H]
    return row


def test_bucket_features_equal_a_per_row_oracle_and_share_hours() -> None:
    rng = np.random.default_rng(4)
    n_items, day = 40, 86400
    created = rng.integers(0, 5 * day, n_items)
    items = rng.integers(0, n_items, 3000)
    ts = created[items] + rng.integers(0, 3 * day, 3000)
    clock = ItemClock(created, items, ts)
    t0 = int(ts.min())
    query = torch.as_tensor(rng.integers(2 * day, 6 * day, 300))  # 300 rows over 96 hours
    cands = torch.as_tensor(rng.choice(n_items, 25, replace=False))
    feats, inverse, alive = clock.bucket_features(cands, query)
    hours = {(int(t) - t0) // 3600 for t in query}
    assert feats.shape[0] == len(hours) <= 97 < len(query) and inverse.shape == (300,)
    by_item = {j: ts[items == j].tolist() for j in range(n_items)}
    for b in range(0, 300, 7):
        t = int(query[b])
        for c, j in enumerate(cands.tolist()):
            expected = _oracle(int(created[j]), [p for p in by_item[j] if p < t], t, t0)
            np.testing.assert_allclose(feats[inverse[b], c].numpy(), expected, rtol=1e-5, atol=1e-6)
            assert bool(alive[b, c]) == (t >= created[j])
    per_row, alive2 = clock.features(cands, query)
    assert torch.equal(per_row, feats[inverse]) and torch.equal(alive, alive2)

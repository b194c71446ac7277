"""The training step's time prior on distinct (hour, item) pairs equals the prior on every (hour, candidate).

#17: the product default trained at a tenth of the towers' speed because the prior's MLP ran on hours x
candidates through autograd. ``ItemClock.batch_pairs`` computes each needed (hour, item) pair once and
``TwoTower.prior`` runs the MLP in cache-sized blocks; both must give the loss and gradients of the plain path.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from socialflywheel.recsys.core.clock import NUM_TIME_FEATURES, ItemClock
from socialflywheel.recsys.core.model import TwoTower


def _model(seed: int) -> TwoTower:
    torch.manual_seed(seed)
    model = TwoTower(
        num_users=4,
        num_items=50,
        num_categories=1,
        num_authors=1,
        num_hashtags=1,
        user_feature_dim=1,
        item_feature_dim=1,
        time_features=NUM_TIME_FEATURES,
    )
    assert model.time_prior is not None
    for p in model.time_prior.parameters():  # the last layer starts at zero: give it weight
        torch.nn.init.normal_(p)
    return model


def _clock_and_batch(seed: int) -> tuple[ItemClock, torch.Tensor, torch.Tensor, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_items, day = 50, 86400
    created = rng.integers(0, 6 * day, n_items)
    items = rng.integers(0, n_items, 4000)
    ts = created[items] + rng.integers(0, 3 * day, 4000)
    clock = ItemClock(created, items, ts)
    query = torch.as_tensor(rng.integers(2 * day, 7 * day, 200))  # rows over many hours
    # candidates with repeats (the positives of other rows), some created after some rows' times
    cands = torch.as_tensor(rng.integers(0, n_items, 260))
    return clock, query, cands, created


def test_fused_prior_equals_the_modules_in_value_and_gradient() -> None:
    model = _model(0)
    assert model.time_prior is not None
    feats = torch.rand(5000, NUM_TIME_FEATURES) * 2
    weights = torch.randn(5000)
    fused = model.prior(feats)
    assert fused.grad_fn is not None
    assert "ChunkedPrior" in str(fused.grad_fn.next_functions)  # the blocked path ran, not the modules
    (fused * weights).sum().backward()
    got = [p.grad.clone() for p in model.time_prior.parameters() if p.grad is not None]
    model.zero_grad()
    plain = model.time_prior(feats).squeeze(-1)
    (plain * weights).sum().backward()
    want = [p.grad for p in model.time_prior.parameters() if p.grad is not None]
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-5)
    assert len(got) == len(want) == 4
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)
    assert model.prior(feats.reshape(50, 100, -1)).shape == (50, 100)  # any leading shape, as before


@pytest.mark.parametrize("seed", [1, 2])
def test_batch_pairs_give_the_per_hour_logits_and_gradients(seed: int) -> None:
    clock, query, cands, created = _clock_and_batch(seed)
    own = torch.arange(len(query)) % len(cands)
    dead_own = int((query < torch.as_tensor(created)[cands[own]]).sum())
    assert dead_own > 0  # some rows' own positive is not created yet: it still enters that row's softmax
    grad = torch.randn(len(query), len(cands))

    model = _model(seed)
    pairs = clock.batch_pairs(cands, query, own)
    got = pairs.logits(model.prior(pairs.features))
    got.masked_fill(~pairs.alive, 0.0).mul(grad).sum().backward()
    got_grads = [p.grad.clone() for p in model.parameters() if p.grad is not None]

    model.zero_grad()
    feats, inverse, alive = clock.bucket_features(cands, query)  # the plain path: every hour x candidate
    alive[torch.arange(len(query)), own] = True
    want = model.time_prior(feats).squeeze(-1)[inverse].masked_fill(~alive, float("-inf"))  # type: ignore[misc]
    want.masked_fill(~alive, 0.0).mul(grad).sum().backward()
    want_grads = [p.grad for p in model.parameters() if p.grad is not None]

    assert torch.equal(pairs.alive, alive)
    assert torch.equal(torch.isinf(got), torch.isinf(want))
    torch.testing.assert_close(got[alive], want[alive], rtol=1e-5, atol=1e-5)
    assert len(got_grads) == len(want_grads) == 4
    for g, w in zip(got_grads, want_grads, strict=True):
        torch.testing.assert_close(g, w, rtol=1e-4, atol=1e-4)
    hours = len(torch.unique(clock.bucket_of(query)))
    assert pairs.features.shape[0] < hours * len(torch.unique(cands)) < hours * len(cands)  # fewer MLP rows

    assert not clock.tabulate(max_bytes=1024) and clock.table is None  # too big: features computed per batch
    assert clock.tabulate()
    tabulated = clock.batch_pairs(cands, query, own)
    assert torch.equal(tabulated.features, pairs.features) and torch.equal(tabulated.index, pairs.index)

"""The history and hashtag bags (``F.embedding_bag``, mean, padding excluded) against the explicit definition."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from socialflywheel.recsys.core.model import _bag_mean


def _reference(table: nn.Embedding, idx: torch.Tensor, buckets: int) -> torch.Tensor:
    """Sum of the named rows over the count of non-padding entries (0 for an all-padding row)."""
    out = []
    for row in idx.tolist():
        named = [v % buckets + 1 for v in row if v >= 0]
        out.append(table.weight[named].sum(dim=0) / len(named) if named else table.weight[0] * 0.0)
    return torch.stack(out)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 12),
    length=st.integers(1, 10),
    buckets=st.integers(1, 300),
    padding=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31 - 1),
)
def test_bag_mean_equals_the_definition_and_its_gradient(
    rows: int, length: int, buckets: int, padding: float, seed: int
) -> None:
    gen = torch.Generator().manual_seed(seed)
    table = nn.Embedding(buckets + 1, 8, padding_idx=0)
    idx = torch.randint(0, 3 * buckets, (rows, length), generator=gen)
    idx[torch.rand(rows, length, generator=gen) < padding] = -1
    ours, ref = _bag_mean(table, idx, buckets), _reference(table, idx, buckets)
    assert torch.allclose(ours, ref, atol=1e-6)
    g_ours = torch.autograd.grad(ours.sum(), table.weight)[0]
    g_ref = torch.autograd.grad(ref.sum(), table.weight)[0]
    assert torch.allclose(g_ours, g_ref, atol=1e-6)
    assert torch.count_nonzero(g_ours[0]) == 0  # the padding row never learns

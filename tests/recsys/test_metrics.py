"""Ranking metrics on examples small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.recsys.core.metrics import (
    SharedScores,
    gini,
    group_rows,
    metric_dict,
    ranking_metrics,
    topk_excluding,
)


def test_recall_and_ndcg_at_2_by_hand() -> None:
    # user 0 targets {3, 9}: list [3, 5] hits rank 1 -> recall 1/2, ndcg 1 / (1 + 1/log2 3)
    # user 1 targets {5}: list [2, 5] hits rank 2 -> recall 1, ndcg (1/log2 3) / 1
    topk = np.array([[3, 5], [2, 5]])
    table = ranking_metrics(
        topk, target_rows=np.array([0, 0, 1]), target_items=np.array([3, 9, 5]), num_items=10, ks=(1, 2)
    )
    at2 = table[1]
    assert at2["recall"] == pytest.approx((0.5 + 1.0) / 2)
    ndcg0 = 1.0 / (1.0 + 1.0 / np.log2(3))
    ndcg1 = 1.0 / np.log2(3)
    assert at2["ndcg"] == pytest.approx((ndcg0 + ndcg1) / 2)
    assert at2["coverage"] == pytest.approx(3 / 10)  # items 2, 3, 5
    assert table[0]["recall"] == pytest.approx((0.5 + 0.0) / 2)
    assert table[0]["ndcg"] == pytest.approx((1.0 + 0.0) / 2)
    assert metric_dict(table)["recall@2"] == at2["recall"]
    # min(K, |T|) as denominator: at K=1 user 0's one hit is all a one-item list can reach
    assert table[0]["recall_capped"] == pytest.approx((1.0 + 0.0) / 2)
    assert at2["recall_capped"] == at2["recall"]  # |T| <= K for everyone


@settings(max_examples=200, deadline=None)
@given(data=st.data(), users=st.integers(1, 6), items=st.integers(2, 12))
def test_both_recall_denominators_against_a_loop(data: st.DataObject, users: int, items: int) -> None:
    k = data.draw(st.integers(1, items))
    topk = np.array([data.draw(st.permutations(range(items)))[:k] for _ in range(users)])
    pairs = data.draw(st.lists(st.tuples(st.integers(0, users - 1), st.integers(0, items - 1)), min_size=1))
    rows, its = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    (row,) = ranking_metrics(topk, target_rows=rows, target_items=its, num_items=items, ks=(k,))
    recall, capped = [], []
    for u in range(users):
        truth = {i for r, i in pairs if r == u}
        if truth:
            hits = len(truth & set(topk[u].tolist()))
            recall.append(hits / len(truth))
            capped.append(hits / min(k, len(truth)))
    assert row["recall"] == pytest.approx(sum(recall) / len(recall))
    assert row["recall_capped"] == pytest.approx(sum(capped) / len(capped))
    assert row["recall"] <= row["recall_capped"] <= 1.0 + 1e-12


def test_users_without_targets_are_not_averaged_and_padding_never_hits() -> None:
    topk = np.array([[1, -1], [4, 0]])
    table = ranking_metrics(topk, target_rows=np.array([0]), target_items=np.array([0]), num_items=5, ks=(2,))
    assert table[0]["users"] == 1
    assert table[0]["recall"] == 0.0  # -1 is padding, not item 0


def test_topk_excluding_removes_seen_items_and_pads() -> None:
    scores = np.array([[5.0, 4.0, 3.0], [1.0, 2.0, 3.0]])
    top = topk_excluding(
        lambda rows: scores[rows], num_rows=2, k=3, seen_rows=np.array([0, 0, 1]), seen_items=np.array([0, 2, 2])
    )
    assert top.tolist() == [[1, -1, -1], [1, 0, -1]]


def test_group_rows_maps_users_to_query_rows() -> None:
    rows, items = group_rows(np.array([7, 3]), np.array([3, 8, 7, 3]), np.array([10, 11, 12, 13]))
    assert rows.tolist() == [0, 1, 1]
    assert items.tolist() == [12, 10, 13]


def test_popularity_bias_and_gini() -> None:
    counts = np.array([100.0, 1.0, 2.0, 3.0])
    only_popular = ranking_metrics(
        np.array([[0], [0]]),
        target_rows=np.array([0]),
        target_items=np.array([1]),
        num_items=4,
        item_counts=counts,
        ks=(1,),
    )[0]
    assert only_popular["pop_percentile"] == 1.0
    assert only_popular["gini"] == pytest.approx(0.75)
    assert gini(np.ones(4)) == pytest.approx(0.0)


@settings(max_examples=80, deadline=None)
@given(
    rows=st.integers(1, 9),
    items=st.integers(1, 40),
    k=st.integers(1, 45),
    chunk=st.integers(1, 5),
    ties=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_topk_excluding_equals_a_full_sort(rows: int, items: int, k: int, chunk: int, ties: bool, seed: int) -> None:
    """Against the definition (every unseen item with a finite score, best first, -1 padding): the same lists where
    scores are distinct, the same score sequence where they tie; NaN and -inf never listed."""
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, (rows, items)).astype(np.float32) if ties else rng.permutation(rows * items)
    scores = scores.reshape(rows, items).astype(np.float32)
    scores[rng.random((rows, items)) < 0.1] = np.nan
    scores[rng.random((rows, items)) < 0.1] = -np.inf
    seen = np.argwhere(rng.random((rows, items)) < 0.3)  # row-major: sorted by row
    top = topk_excluding(
        lambda r: scores[r], num_rows=rows, k=k, seen_rows=seen[:, 0], seen_items=seen[:, 1], chunk=chunk
    )
    for r in range(rows):
        mine = set(seen[seen[:, 0] == r, 1].tolist())
        ok = [i for i in range(items) if i not in mine and np.isfinite(scores[r, i])]
        want = sorted(ok, key=lambda i: (-scores[r, i], i))[:k]
        got = [i for i in top[r] if i >= 0]
        assert top[r, len(got) :].tolist() == [-1] * (k - len(got))
        assert [scores[r, i] for i in got] == [scores[r, i] for i in want]
        assert ties or got == want


@settings(max_examples=120, deadline=None)
@given(
    rows=st.integers(0, 12),
    items=st.integers(1, 40),
    k=st.integers(1, 45),
    ties=st.booleans(),
    seen_share=st.sampled_from([0.0, 0.3, 0.9]),
    seed=st.integers(0, 2**31 - 1),
)
def test_shared_scores_walk_one_order_like_scoring_every_row(
    rows: int, items: int, k: int, ties: bool, seen_share: float, seed: int
) -> None:
    """One score row for everyone (most-popular): ranking it once and walking it past each row's seen items
    (repeated seen pairs included) gives the full sort's lists; NaN and infinities never listed."""
    rng = np.random.default_rng(seed)
    row = (rng.integers(0, 4, items) if ties else rng.permutation(items)).astype(np.float32)
    row[rng.random(items) < 0.1] = np.nan
    row[rng.random(items) < 0.05] = -np.inf
    row[rng.random(items) < 0.05] = np.inf
    seen = np.argwhere(rng.random((rows, items)) < seen_share)
    seen = np.repeat(seen, rng.integers(1, 3, len(seen)), axis=0)  # a pair seen twice
    top = topk_excluding(SharedScores(row), num_rows=rows, k=k, seen_rows=seen[:, 0], seen_items=seen[:, 1])
    assert top.shape == (rows, k)
    for r in range(rows):
        mine = set(seen[seen[:, 0] == r, 1].tolist())
        want = sorted((i for i in range(items) if i not in mine and np.isfinite(row[i])), key=lambda i: (-row[i], i))
        got = [i for i in top[r] if i >= 0]
        assert top[r, len(got) :].tolist() == [-1] * (k - len(got))
        assert [row[i] for i in got] == [row[i] for i in want[:k]]
        assert ties or got == want[:k]

"""Ranking metrics on examples small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from socialflywheel.recsys.core.metrics import gini, group_rows, metric_dict, ranking_metrics, topk_excluding


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

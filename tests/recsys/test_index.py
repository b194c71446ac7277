"""Faiss retrieval: exact agreement, seen items never returned, persistence, and the cold-user fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from socialflywheel.recsys.core.metrics import topk_excluding
from socialflywheel.recsys.index import (
    build_index,
    candidate_corpus,
    fallback_scores,
    fallback_topk,
    fold_prior,
    load_index,
    save_index,
    search_topk,
)


def _vectors(n: int, d: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_topk_never_contains_a_seen_item(kind: str) -> None:
    items, users = _vectors(2000, 16, 0), _vectors(300, 16, 1)
    rng = np.random.default_rng(2)
    exact = users @ items.T
    # each user has already seen its 30 best items plus 20 random ones: the filter has real work to do
    best = np.argsort(-exact, axis=1)[:, :30]
    seen = np.concatenate([best, rng.integers(0, 2000, size=(300, 20))], axis=1)
    rows, seen_items = np.repeat(np.arange(300), seen.shape[1]), seen.reshape(-1)
    ids, scores = search_topk(build_index(items, kind=kind), users, k=50, seen_rows=rows, seen_items=seen_items)
    assert ids.shape == (300, 50) and (ids >= 0).all()
    for u in range(300):
        assert not set(ids[u]) & set(seen[u])
        assert np.all(np.diff(scores[u]) <= 1e-6)
    if kind == "flat":
        order = np.argsort(rows, kind="stable")
        ref = topk_excluding(
            lambda r: exact[r], num_rows=300, k=50, seen_rows=rows[order], seen_items=seen_items[order]
        )
        assert np.array_equal(ids, ref)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_folded_prior_ranks_as_dot_product_plus_prior(kind: str) -> None:
    items, users = _vectors(3000, 16, 3), _vectors(200, 16, 4)
    # a prior as strong as the dot product: it reorders the lists, so ignoring it would fail the check
    prior = np.random.default_rng(5).normal(scale=0.5, size=3000).astype(np.float32)
    u, v = fold_prior(users, items, prior)
    assert u.shape == (200, 17) and v.shape == (3000, 17)
    ids, scores = search_topk(build_index(v, kind=kind), u, k=20)
    expected = np.argsort(-(users @ items.T + prior[None, :]), axis=1, kind="stable")[:, :20]
    without = np.argsort(-(users @ items.T), axis=1, kind="stable")[:, :20]
    agree = np.mean([len(set(ids[r]) & set(expected[r])) / 20 for r in range(200)])
    agree_without = np.mean([len(set(ids[r]) & set(without[r])) / 20 for r in range(200)])
    assert agree == 1.0 if kind == "flat" else agree >= 0.95
    assert agree_without < 0.5
    np.testing.assert_allclose(scores[:, 0], (users @ items.T + prior).max(axis=1), rtol=1e-5, atol=1e-5)


def test_fold_prior_refuses_a_prior_that_is_not_one_finite_offset_per_item() -> None:
    users, items = _vectors(3, 4, 0), _vectors(5, 4, 1)
    with pytest.raises(ValueError, match="one finite offset per item"):
        fold_prior(users, items, np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="one finite offset per item"):
        fold_prior(users, items, np.array([0, 0, -np.inf, 0, 0], np.float32))


def test_index_is_restricted_to_the_corpus_and_round_trips(tmp_path: Path) -> None:
    items, users = _vectors(500, 8, 3), _vectors(20, 8, 4)
    corpus = candidate_corpus(
        item_counts=np.r_[np.zeros(100), np.ones(400)],
        created_ts=np.r_[np.full(50, 9 * 86_400), np.zeros(450)],
        trending=np.r_[np.zeros(99), 5.0, np.zeros(400)],
        now=10 * 86_400,
        fresh_days=2,
        top_trending=1,
    )
    assert set(range(50)) <= set(corpus) and 99 in corpus and not set(range(50, 99)) & set(corpus)
    index = build_index(items[corpus], item_ids=corpus, kind="auto")
    assert index.kind == "flat"
    ids, _ = search_topk(index, users, k=10)
    assert set(ids.reshape(-1)) <= set(corpus)
    loaded, vec = load_index(save_index(tmp_path / "v3" / "index", index, items[corpus]))
    assert np.array_equal(vec, items[corpus])
    assert np.array_equal(search_topk(loaded, users, k=10)[0], ids)


def test_cold_user_gets_trending_and_popular_items_of_their_categories_minus_seen() -> None:
    item_category = np.array([0, 0, 0, 1, 1, 1])
    popular = np.array([1.0, 9.0, 5.0, 100.0, 90.0, 80.0])
    trending = np.zeros(6)
    pref = np.array([[1.0, 0.0], [0.0, 0.0]])  # user 0 likes category 0; user 1 has no known taste
    scores = fallback_scores(category_pref=pref, item_category=item_category, trending=trending, popular=popular)
    top = fallback_topk(scores=scores, k=3, seen_rows=np.array([0]), seen_items=np.array([1]))
    assert top[0].tolist() == [2, 0, 3]  # category 0 first (seen item 1 removed), then the most popular
    assert top[1].tolist() == [3, 4, 5]  # no taste: global popularity

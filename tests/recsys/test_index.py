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

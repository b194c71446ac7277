"""Faiss retrieval over item embeddings: exact or approximate index, seen-item filtering, fallback.

``auto`` builds an exact inner-product index (``IndexFlatIP``) below ``exact_below`` items and an
HNSW graph above it (IVF is available on request). Users' top-K lists over-fetch by the largest
number of seen items in the chunk, so after the seen items are removed each list still has K
entries whenever the index can return them. Users the model has not seen get :func:`fallback_topk`:
the best of :func:`fallback_scores` (trending and popular items in their categories) over the same
corpus, seen items removed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from socialflywheel import progress

IndexKind = Literal["auto", "flat", "ivf", "hnsw"]


@dataclass
class ItemIndex:
    """A faiss index whose row ``j`` is item ``item_ids[j]``."""

    index: Any
    item_ids: np.ndarray
    kind: str

    @property
    def size(self) -> int:
        """Items in the index."""
        return int(self.index.ntotal)


def build_index(
    item_vec: np.ndarray,
    *,
    item_ids: np.ndarray | None = None,
    kind: IndexKind = "auto",
    exact_below: int = 100_000,
    nlist: int | None = None,
    nprobe: int = 16,
    hnsw_m: int = 32,
    ef_search: int = 128,
    seed: int = 0,
) -> ItemIndex:
    """Index item vectors for maximum inner product search (tower outputs, optionally with a folded prior).

    Args:
        item_vec: ``[n, d]`` item embeddings.
        item_ids: item_idx of each row (default ``0..n-1``), e.g. only the candidate corpus.
        kind: ``flat`` (exact), ``ivf``, ``hnsw`` or ``auto`` (flat below ``exact_below`` items, else HNSW).
        exact_below: Catalogue size up to which ``auto`` stays exact.
        nlist: IVF cells (default ``4 * sqrt(n)``).
        nprobe: IVF cells visited per query.
        hnsw_m: HNSW neighbours per node.
        ef_search: HNSW search breadth.
        seed: IVF k-means seed.

    Returns:
        The :class:`ItemIndex`.
    """
    vec = np.ascontiguousarray(item_vec, dtype=np.float32)
    n, d = vec.shape
    ids = np.arange(n, dtype=np.int64) if item_ids is None else np.asarray(item_ids, dtype=np.int64)
    chosen = ("flat" if n < exact_below else "hnsw") if kind == "auto" else kind
    if chosen == "flat":
        index: Any = faiss.IndexFlatIP(d)
    elif chosen == "hnsw":
        index = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = ef_search
    elif chosen == "ivf":
        cells = nlist or max(1, min(n // 39, int(4 * np.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, cells, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(vec)
        index.nprobe = min(nprobe, cells)
    else:
        raise ValueError(f"unknown index kind {kind!r}")
    index.add(vec)
    return ItemIndex(index=index, item_ids=ids, kind=chosen)


def fold_prior(user_vec: np.ndarray, item_vec: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fold a per-item score offset into the vectors: ``[u, 1] . [v, b] = u . v + b``.

    The two-tower scores a candidate by ``u . v`` plus its time prior as of the query time (one number per
    item at serving time); as one more dimension it rides inside any inner-product index, so faiss ranks
    exactly as the evaluation does. Items whose offset is not finite (``-inf``: not created yet) must be
    left out of the index by the caller.

    Args:
        user_vec: ``[U, d]`` user embeddings.
        item_vec: ``[n, d]`` item embeddings.
        bias: ``[n]`` finite per-item offsets.

    Returns:
        ``(user_vec [U, d + 1], item_vec [n, d + 1])``, float32.
    """
    b = np.asarray(bias, dtype=np.float32)
    if b.shape != (len(item_vec),) or not np.all(np.isfinite(b)):
        raise ValueError("bias must hold one finite offset per item")
    users = np.hstack([np.asarray(user_vec, np.float32), np.ones((len(user_vec), 1), np.float32)])
    items = np.hstack([np.asarray(item_vec, np.float32), b[:, None]])
    return users, items


def search_topk(
    index: ItemIndex,
    user_vec: np.ndarray,
    *,
    k: int,
    seen_rows: np.ndarray | None = None,
    seen_items: np.ndarray | None = None,
    chunk: int = 4096,
    bar: progress.Task | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` item_idx per user, best first, with each user's seen items removed.

    Args:
        index: The item index.
        user_vec: ``[U, d]`` user embeddings.
        k: List length; rows are padded with ``-1`` / ``-inf`` if fewer items remain.
        seen_rows: Row (into ``user_vec``) of each seen pair, sorted ascending.
        seen_items: item_idx of each seen pair.
        chunk: Users searched at once.
        bar: Progress, advanced by the users of each chunk.

    Returns:
        ``(item_ids [U, k], scores [U, k])``.
    """
    users = len(user_vec)
    out_ids = np.full((users, k), -1, dtype=np.int64)
    out_scores = np.full((users, k), -np.inf, dtype=np.float32)
    s_rows = np.zeros(0, np.int64) if seen_rows is None else np.asarray(seen_rows, np.int64)
    s_items = np.zeros(0, np.int64) if seen_items is None else np.asarray(seen_items, np.int64)
    width = int(max(index.item_ids.max(initial=0), s_items.max(initial=0))) + 1
    for a in range(0, users, chunk):
        b = min(a + chunk, users)
        lo, hi = np.searchsorted(s_rows, [a, b])
        max_seen = int(np.bincount(s_rows[lo:hi] - a, minlength=1).max()) if hi > lo else 0
        fetch = min(index.size, k + max_seen)
        scores, pos = index.index.search(np.ascontiguousarray(user_vec[a:b], dtype=np.float32), fetch)
        ids = np.where(pos >= 0, index.item_ids[np.maximum(pos, 0)], -1)
        seen_codes = (s_rows[lo:hi] - a) * width + s_items[lo:hi]
        codes = np.arange(b - a, dtype=np.int64)[:, None] * width + np.maximum(ids, 0)
        keep = (ids >= 0) & ~np.isin(codes, seen_codes)
        # Stable sort moves kept entries to the front and keeps their ranking order.
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
        kept = np.take_along_axis(keep, order, axis=1)
        width_k = order.shape[1]
        out_ids[a:b, :width_k] = np.where(kept, np.take_along_axis(ids, order, axis=1), -1)
        out_scores[a:b, :width_k] = np.where(kept, np.take_along_axis(scores, order, axis=1), -np.inf)
        if bar is not None:
            bar.advance(b - a)
    return out_ids, out_scores


def save_index(directory: str | Path, index: ItemIndex, item_vec: np.ndarray) -> Path:
    """Write ``item_embeddings.npy``, ``item_ids.npy``, ``items.faiss`` and ``index.json`` into ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    np.save(d / "item_embeddings.npy", np.asarray(item_vec, dtype=np.float32))
    np.save(d / "item_ids.npy", index.item_ids)
    faiss.write_index(index.index, str(d / "items.faiss"))
    (d / "index.json").write_text(json.dumps({"kind": index.kind, "size": index.size, "dim": int(item_vec.shape[1])}))
    return d


def load_index(directory: str | Path) -> tuple[ItemIndex, np.ndarray]:
    """Read what :func:`save_index` wrote: ``(index, item_embeddings)``."""
    d = Path(directory)
    info = json.loads((d / "index.json").read_text())
    index = ItemIndex(faiss.read_index(str(d / "items.faiss")), np.load(d / "item_ids.npy"), info["kind"])
    return index, np.load(d / "item_embeddings.npy")


def candidate_corpus(
    *,
    item_counts: np.ndarray,
    created_ts: np.ndarray,
    trending: np.ndarray,
    now: int,
    fresh_days: float = 2.0,
    min_count: int = 1,
    top_trending: int = 1000,
) -> np.ndarray:
    """Items admitted to retrieval: engaged-with, fresh (created within ``fresh_days``) or trending.

    Args:
        item_counts: Training interactions per item.
        created_ts: Creation time per item (seconds).
        trending: Trend score per item (e.g. recent engagement growth).
        now: Reference time (seconds).
        fresh_days: Age below which an item is fresh.
        min_count: Interactions that admit an established item.
        top_trending: How many of the highest trend scores are admitted.

    Returns:
        The item_idx of the corpus, ascending.
    """
    admit = (np.asarray(item_counts) >= min_count) | (np.asarray(created_ts) >= now - int(fresh_days * 86_400))
    if top_trending > 0 and len(trending):
        admit[np.argsort(-np.asarray(trending), kind="stable")[:top_trending]] = True
    return np.flatnonzero(admit).astype(np.int64)


def fallback_scores(
    *,
    category_pref: np.ndarray,
    item_category: np.ndarray,
    trending: np.ndarray,
    popular: np.ndarray,
    trend_weight: float = 0.5,
) -> np.ndarray:
    """Scores for users the model has not seen: trending and popular items, in their categories first.

    Args:
        category_pref: ``[U, num_categories]`` the users' category shares (all zero: no known taste).
        item_category: ``[num_items]`` category of each item.
        trending: ``[num_items]`` trend score.
        popular: ``[num_items]`` popularity.
        trend_weight: Share of the trend rank in the item score (the rest is popularity).

    Returns:
        ``[U, num_items]`` scores: items of a preferred category always rank above the rest; inside
        each group, category share plus the trend/popularity rank orders them.
    """

    def unit_rank(x: np.ndarray) -> np.ndarray:
        return np.argsort(np.argsort(np.asarray(x), kind="stable"), kind="stable") / max(len(x) - 1, 1)

    item_score = trend_weight * unit_rank(trending) + (1 - trend_weight) * unit_rank(popular)
    pref = np.asarray(category_pref)[:, item_category]
    scores: np.ndarray = 3.0 * (pref > 0) + pref + item_score[None, :]
    return scores


def fallback_topk(
    *,
    category_pref: np.ndarray,
    item_category: np.ndarray,
    trending: np.ndarray,
    popular: np.ndarray,
    k: int,
    trend_weight: float = 0.5,
    candidates: np.ndarray | None = None,
    seen_rows: np.ndarray | None = None,
    seen_items: np.ndarray | None = None,
    chunk: int = 512,
    bar: progress.Task | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of :func:`fallback_scores` per user over the candidates, best first, seen items removed.

    Scores are ranked in float64 with a stable sort, so equal scores list the lower item_idx first
    (near-equal ones are never merged by a float32 cast); the returned scores are float32.

    Args:
        category_pref: ``[U, num_categories]`` the users' category shares (see :func:`fallback_scores`).
        item_category: ``[num_items]`` category of each item.
        trending: ``[num_items]`` trend score.
        popular: ``[num_items]`` popularity.
        k: List length; rows are padded with ``-1`` / ``-inf`` if fewer items remain.
        trend_weight: Share of the trend rank in the item score.
        candidates: item_idx that may be listed (default: all), e.g. the retrieval corpus.
        seen_rows: Row (into ``category_pref``) of each seen pair, sorted ascending.
        seen_items: item_idx of each seen pair.
        chunk: Users scored at once (memory is ``chunk x num_items`` scores).
        bar: Progress, advanced by the users of each chunk.

    Returns:
        ``(item_ids [U, k], scores [U, k])``.
    """
    pref = np.asarray(category_pref)
    users, n = len(pref), len(item_category)
    out_ids = np.full((users, k), -1, dtype=np.int64)
    out_scores = np.full((users, k), -np.inf, dtype=np.float32)
    blocked = np.zeros(n, dtype=bool)
    if candidates is not None:
        blocked[:] = True
        blocked[np.asarray(candidates, dtype=np.int64)] = False
    s_rows = np.zeros(0, np.int64) if seen_rows is None else np.asarray(seen_rows, np.int64)
    s_items = np.zeros(0, np.int64) if seen_items is None else np.asarray(seen_items, np.int64)
    kk = min(k, n)
    for a in range(0, users, chunk):
        b = min(a + chunk, users)
        scores = fallback_scores(
            category_pref=pref[a:b], item_category=item_category, trending=trending, popular=popular,
            trend_weight=trend_weight,
        )  # fmt: skip
        scores[:, blocked] = -np.inf
        lo, hi = np.searchsorted(s_rows, [a, b])
        scores[s_rows[lo:hi] - a, s_items[lo:hi]] = -np.inf
        top = np.argsort(-scores, axis=1, kind="stable")[:, :kk]
        vals = np.take_along_axis(scores, top, axis=1)
        listed = np.isfinite(vals)
        out_ids[a:b, :kk] = np.where(listed, top, -1)
        out_scores[a:b, :kk] = np.where(listed, vals, -np.inf)
        if bar is not None:
            bar.advance(b - a)
    return out_ids, out_scores

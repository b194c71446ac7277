"""The held-out splits of a prepared dataset: targets, seen pairs, query users, and item features as of each start.

A split directory (``val/``, ``test/``) holds ``targets.parquet`` (the new positive pairs inside the split),
``seen.parquet`` (every pair before the split start) and ``queries.parquet`` (each query user's inputs as of
their own start). With global time splits every user starts at once and the catalogue's item features as of
that start are ``items.parquet`` (``test/items.parquet`` for the test split).

With per-user splits every user starts at their own time, so one catalogue snapshot cannot be right for all:
item features as of the earliest start are from before almost every interaction (all zero on MovieLens, where
the two-tower then scored Recall@50 0.086 against 0.35 with static features), and as of a later one they hold
interactions after some users' starts (leakage). The starts are cut into at most :data:`MAX_ITEM_BUCKETS`
quantile buckets; each bucket's item features are as of its earliest start, so a user sees the catalogue as of
their own start or a little before it, never after. ``item_features.parquet`` holds them (``bucket``,
``cutoff_ts``, ``item_idx``, ``item_features``; ``num_items`` rows per bucket, in bucket then item order) and
``queries.parquet`` gains ``item_bucket``, each query user's bucket.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from socialflywheel.recsys._arrow import LatestRows, matrix_column
from socialflywheel.recsys.splits import END_OF_TIME, Positives

MAX_ITEM_BUCKETS = 16
"""Most item-feature snapshots per per-user split (memory: buckets x items x item feature dim float32)."""


def start_buckets(starts: np.ndarray, max_buckets: int = MAX_ITEM_BUCKETS) -> np.ndarray:
    """Sorted distinct cutoffs, each a start of some user: the lower quantiles of the finite ``starts``.

    The first is the earliest start, so every user falls in a bucket whose cutoff is at or before their start.
    """
    finite = starts[starts < END_OF_TIME]
    if not len(finite):
        return np.zeros(0, np.int64)
    q = np.quantile(finite, np.linspace(0.0, 1.0, max_buckets, endpoint=False), method="lower")
    return np.unique(np.asarray(q, np.int64))


def bucket_of(starts: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """Each start's bucket: the latest cutoff at or before it."""
    return np.maximum(np.searchsorted(cutoffs, starts, side="right") - 1, 0).astype(np.int32)


def _pairs(users: np.ndarray, items: np.ndarray, num_items: int) -> np.ndarray:
    pairs: np.ndarray = users * num_items + items
    return pairs


def write_split(
    root: Path,
    name: str,
    *,
    lo: np.ndarray,
    hi: np.ndarray,
    data: dict[str, np.ndarray],
    pos: Positives,
    latest: LatestRows,
    num_items: int,
    history_len: int,
    max_users: int | None = None,
    item_snapshots: list[LatestRows] | None = None,
) -> dict[str, int]:
    """Write ``<root>/<name>/``: targets, seen pairs and queries; per-user splits also their item features.

    Args:
        root: The prepared dataset's root.
        name: The split (``val`` or ``test``).
        lo: Each user's split start (seconds).
        hi: Each user's split end (exclusive).
        data: ``users``, ``items``, ``ts``, ``label`` of every valid source row.
        pos: The positives' point-in-time history index.
        latest: Users' features as of their start.
        num_items: Catalogue size.
        history_len: Recent positives kept per query user.
        max_users: Keep a fixed sample of this many query users (None: all).
        item_snapshots: Per-user splits: the item features as of each bucket's cutoff (``cutoff`` of each is
            the bucket's, ascending); None for a global split.
    """
    u, i, t, lab = data["users"], data["items"], data["ts"], data["label"]
    before = t < lo[u]
    seen = np.unique(_pairs(u[before], i[before], num_items))
    inside = (t >= lo[u]) & (t < hi[u]) & (lab == 1)
    codes = _pairs(u[inside], i[inside], num_items)
    order = np.lexsort((t[inside], codes))
    codes_sorted, ts_sorted = codes[order], t[inside][order]
    first = np.r_[True, codes_sorted[1:] != codes_sorted[:-1]]
    codes_sorted, ts_sorted = codes_sorted[first], ts_sorted[first]
    new = ~np.isin(codes_sorted, seen)
    tgt, tgt_ts = codes_sorted[new], ts_sorted[new]
    users = np.unique(tgt // num_items)
    counts = {f"{name}_positives": int(inside.sum()), f"{name}_users": len(users)}
    if max_users is not None and len(users) > max_users:  # a fixed sample: the same for every seed
        pick = np.random.default_rng(0).choice(users, max_users, replace=False)
        chosen = np.isin(tgt // num_items, pick)
        tgt, tgt_ts, seen = tgt[chosen], tgt_ts[chosen], seen[np.isin(seen // num_items, pick)]
    d = root / name
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.table({"user_idx": tgt // num_items, "item_idx": tgt % num_items, "ts": tgt_ts}), d / "targets.parquet"
    )
    pq.write_table(pa.table({"user_idx": seen // num_items, "item_idx": seen % num_items}), d / "seen.parquet")
    q_users = np.unique(tgt // num_items)
    buckets = None
    if item_snapshots is not None:
        cutoffs = np.array([int(np.asarray(s.cutoff)) for s in item_snapshots], np.int64)
        buckets = bucket_of(lo[q_users], cutoffs)
        _write_item_snapshots(d / "item_features.parquet", item_snapshots, cutoffs, num_items)
    write_queries(
        d / "queries.parquet", q_users, at=lo[q_users], pos=pos, latest=latest, history_len=history_len, buckets=buckets
    )
    return {**counts, f"{name}_query_users": len(q_users), f"{name}_targets": len(tgt), f"{name}_seen_pairs": len(seen)}


def write_queries(
    path: Path,
    users: np.ndarray,
    *,
    at: np.ndarray,
    pos: Positives,
    latest: LatestRows,
    history_len: int,
    buckets: np.ndarray | None = None,
) -> None:
    """Query users' inputs as of ``at`` (their history and latest features), and their item bucket if any."""
    history = pos.history(users, at, history_len)
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = {"user_idx": users, "user_features": matrix_column(latest.values[users]), "user_history": history}
    if buckets is not None:
        cols["item_bucket"] = pa.array(buckets, pa.int32())
    pq.write_table(pa.table(cols), path)


def _write_item_snapshots(path: Path, snapshots: list[LatestRows], cutoffs: np.ndarray, num_items: int) -> None:
    b = len(snapshots)
    values = np.concatenate([s.values for s in snapshots]) if b else np.zeros((0, 0), np.float32)
    table = pa.table(
        {
            "bucket": pa.array(np.repeat(np.arange(b, dtype=np.int32), num_items)),
            "cutoff_ts": pa.array(np.repeat(cutoffs, num_items)),
            "item_idx": pa.array(np.tile(np.arange(num_items, dtype=np.int64), b)),
            "item_features": matrix_column(values),
        }
    )
    pq.write_table(table, path)


def read_item_snapshots(split_dir: Path, num_items: int, dim: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``(cutoffs [B], features [B, num_items, dim])`` of a per-user split, or None for a global one."""
    path = split_dir / "item_features.parquet"
    if not path.exists():
        return None
    t = pq.read_table(path)
    cutoffs = np.asarray(t.column("cutoff_ts").to_numpy()[::num_items] if num_items else [], np.int64)
    flat = t.column("item_features").combine_chunks()
    values = np.asarray(flat.flatten().to_numpy(zero_copy_only=False), np.float32)
    if len(values) != len(cutoffs) * num_items * dim:
        raise ValueError(f"{path}: {len(values)} feature values, expected {len(cutoffs)} x {num_items} x {dim}")
    return cutoffs, values.reshape(len(cutoffs), num_items, dim)

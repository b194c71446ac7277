"""A planted prepared dataset for tests and benchmarks: users with topic tastes, items with topics.

Users draw sparse topic preferences; items have a topic, an author of that topic, topic hashtags,
content features near their topic's centroid and a heavy-tailed popularity. Each user's
interactions are drawn without replacement with probability ``preference[topic] * popularity``,
at times after the item appears, then split on global time into train / val / test, with histories
and features point-in-time correct. Only NumPy and PyArrow are used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from socialflywheel.recsys.core.data import DatasetMeta

DAY = 86_400


def _list_array(values: np.ndarray, lengths: np.ndarray, value_type: pa.DataType) -> pa.Array:
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values, type=value_type))


def _fixed(matrix: np.ndarray) -> pa.Array:
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1).astype(np.float32)), matrix.shape[1])


def _windows(items: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pa.Array:
    """List column of ``items[starts[i]:ends[i]]`` per row."""
    lengths = (ends - starts).astype(np.int64)
    total = int(lengths.sum())
    offs = np.concatenate([[0], np.cumsum(lengths)])
    idx = np.arange(total) - np.repeat(offs[:-1], lengths) + np.repeat(starts, lengths)
    return _list_array(items[idx], lengths, pa.int64())


def make_planted_dataset(
    root: str | Path,
    *,
    num_users: int = 2000,
    num_items: int = 1000,
    num_topics: int = 10,
    interactions_per_user: int = 40,
    num_authors: int = 200,
    num_hashtags: int = 100,
    user_feature_dim: int = 8,
    item_feature_dim: int = 16,
    history_len: int = 20,
    hashtag_len: int = 4,
    shards: int = 4,
    shard_weights: list[float] | None = None,
    rows_per_group: int = 4096,
    days: int = 30,
    time_blocks: bool = False,
    seed: int = 0,
) -> DatasetMeta:
    """Write a prepared dataset (see :mod:`.data`) under ``root`` and return its metadata.

    Args:
        root: Output directory.
        num_users: Users.
        num_items: Items.
        num_topics: Latent topics (= categories).
        interactions_per_user: Interactions drawn per user (without replacement).
        num_authors: Authors (each writes on one topic).
        num_hashtags: Hashtags (each tied to one topic).
        user_feature_dim: Width of the dense user features (a noisy view of the user's tastes).
        item_feature_dim: Width of the content features.
        history_len: Recent items kept per example.
        hashtag_len: Hashtags kept per item.
        shards: Training Parquet files.
        shard_weights: Share of training rows per file (uneven shards); equal when omitted.
        rows_per_group: Parquet row-group size.
        days: Simulated period.
        time_blocks: Lay the training rows out as prepare's default does: consecutive time blocks,
            one per file, shuffled inside (default: one global shuffle cut into files).
        seed: Everything is a function of it.

    Returns:
        The :class:`DatasetMeta` written to ``root/meta.json``.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    t, n_int = num_topics, min(interactions_per_user, num_items)
    pref = rng.dirichlet(np.full(t, 0.3), size=num_users)
    author_topic = rng.integers(0, t, num_authors)
    item_topic = rng.integers(0, t, num_items)
    item_author = np.array(
        [
            rng.choice(np.flatnonzero(author_topic == k)) if (author_topic == k).any() else rng.integers(num_authors)
            for k in item_topic
        ],
        dtype=np.int64,
    )
    tag_topic = np.arange(num_hashtags) % t
    item_tags = [
        rng.choice(np.flatnonzero(tag_topic == k), size=min(3, int((tag_topic == k).sum())), replace=False)
        for k in item_topic
    ]
    pop = rng.lognormal(0.0, 1.0, num_items)
    centroid = rng.normal(size=(t, item_feature_dim))
    item_feat = centroid[item_topic] + 0.5 * rng.normal(size=(num_items, item_feature_dim))
    user_feat = pref @ rng.normal(size=(t, user_feature_dim)) + 0.3 * rng.normal(size=(num_users, user_feature_dim))
    created = np.where(rng.random(num_items) < 0.8, 0.0, rng.uniform(0, 0.95 * days * DAY, num_items))

    logits = np.log(pref[:, item_topic] + 1e-9) + np.log(pop)[None, :]
    chosen = np.argsort(-(logits + rng.gumbel(size=logits.shape)), axis=1)[:, :n_int]
    users = np.repeat(np.arange(num_users, dtype=np.int64), n_int)
    items = chosen.reshape(-1).astype(np.int64)
    start = created[items]
    ts = (start + rng.random(len(items)) * (days * DAY - start)).astype(np.int64)
    order = np.lexsort((ts, users))
    users, items, ts = users[order], items[order], ts[order]
    t1, t2 = np.quantile(ts, [0.7, 0.85]).astype(np.int64)

    user_start = np.searchsorted(users, np.arange(num_users))
    pos = np.arange(len(users))
    hist_start = np.maximum(user_start[users], pos - history_len)
    train = ts < t1
    item_counts = np.bincount(items[train], minlength=num_items)

    item_cols = {
        "item_category": pa.array(item_topic.astype(np.int32)),
        "item_author_idx": pa.array(item_author),
        "item_hashtags": _list_array(
            np.concatenate(item_tags).astype(np.int32), np.array([len(x) for x in item_tags]), pa.int32()
        ),
        "item_features": _fixed(item_feat),
    }
    root.mkdir(parents=True, exist_ok=True)
    catalogue = pa.table(
        {
            "item_idx": pa.array(np.arange(num_items, dtype=np.int64)),
            **item_cols,
            "item_created_ts": pa.array(created.astype(np.int64)),
        }
    )
    pq.write_table(catalogue, root / "items.parquet")

    rows = np.flatnonzero(train)
    rows = rows[rng.permutation(len(rows))]
    weights = np.asarray(shard_weights or [1.0] * shards, dtype=np.float64)
    bounds = np.concatenate([[0], np.round(np.cumsum(weights / weights.sum()) * len(rows))]).astype(np.int64)
    if time_blocks:  # time order (ties by row), then each block shuffled
        ordered = np.flatnonzero(train)
        rows = ordered[np.argsort(ts[ordered], kind="stable")]
        for i in range(len(weights)):
            rows[bounds[i] : bounds[i + 1]] = rng.permutation(rows[bounds[i] : bounds[i + 1]])
    examples = pa.table(
        {
            "user_idx": pa.array(users[rows]),
            "item_idx": pa.array(items[rows]),
            "weight": pa.array(np.ones(len(rows), dtype=np.float32)),
            "ts": pa.array(ts[rows]),
            "user_features": _fixed(user_feat[users[rows]]),
            "user_history": _windows(items, hist_start[rows], rows),
            **{k: v.take(pa.array(items[rows])) for k, v in item_cols.items()},
        }
    )
    (root / "train").mkdir(exist_ok=True)
    for i in range(len(weights)):
        part = examples.slice(bounds[i], bounds[i + 1] - bounds[i])
        pq.write_table(part, root / "train" / f"part-{i:05d}.parquet", row_group_size=rows_per_group)

    for name, lo, hi in (("val", t1, t2), ("test", t2, np.iinfo(np.int64).max)):
        in_split = (ts >= lo) & (ts < hi)
        q_users = np.unique(users[in_split])
        count_before = np.array(
            [np.searchsorted(ts[user_start[u] : _end(user_start, u, len(ts))], lo) for u in q_users], dtype=np.int64
        )
        ends = user_start[q_users] + count_before
        starts = np.maximum(user_start[q_users], ends - history_len)
        d = root / name
        d.mkdir(exist_ok=True)
        pq.write_table(
            pa.table(
                {
                    "user_idx": pa.array(q_users),
                    "user_features": _fixed(user_feat[q_users]),
                    "user_history": _windows(items, starts, ends),
                }
            ),
            d / "queries.parquet",
        )
        pq.write_table(
            pa.table({"user_idx": users[in_split], "item_idx": items[in_split], "ts": ts[in_split]}),
            d / "targets.parquet",
        )
        seen = ts < lo
        pq.write_table(pa.table({"user_idx": users[seen], "item_idx": items[seen]}), d / "seen.parquet")

    meta = DatasetMeta(
        num_users=num_users,
        num_items=num_items,
        num_categories=t,
        num_authors=num_authors,
        num_hashtags=num_hashtags,
        user_feature_dim=user_feature_dim,
        item_feature_dim=item_feature_dim,
        history_len=history_len,
        hashtag_len=hashtag_len,
        item_counts=item_counts.tolist(),
        train_rows=len(rows),
        extra={"source": "planted", "seed": seed, "val_start_ts": int(t1), "test_start_ts": int(t2)},
    )
    meta.save(root / "meta.json")
    return meta


def _end(user_start: np.ndarray, u: int, n: int) -> int:
    return int(user_start[u + 1]) if u + 1 < len(user_start) else n

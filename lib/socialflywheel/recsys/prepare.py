"""gold.training_examples + silver.posts -> the prepared-shard contract of :mod:`~socialflywheel.recsys.core.data`.

The Delta table is streamed file by file in record batches (never one whole-table DataFrame):

1. ids, times, labels and splits of every row become compact NumPy arrays (dense vocabularies of
   users, posts, categories, authors and hashtags are sorted strings, so ids are deterministic);
2. positives (``label = 1``) are sorted by user and time, so a row's history is the user's earlier
   positive posts, strictly before its ``ts`` (ties excluded), the last ``history_len`` of them;
3. a second pass writes the train positives with their own user and item features into shards, and
   keeps each user's and post's latest features before the validation start, the test start and the
   end (the as-of points of the queries and catalogues).

The shards do not depend on how the source is laid out in files (Sail may write the same rows into
a different number of files, in another order, from one run to the next): the train rows are put in
a canonical order (time, then user, post, weight) and cut into blocks of about ``rows_per_group``
rows: blocks of one global seeded shuffle (``shard_order="random"``, the default), or consecutive
time blocks each shuffled by the seed (``"time"``), written through spill files with one block in
memory at a time. One block is one shard file of one row group, so the same lake and seed always
give the same training data, byte for byte, and training repeats exactly. Time blocks make training
with the time prior faster (a batch spans fewer distinct hours) but, measured on the default
simulation, rank worse than the global shuffle.

Validation and test targets are the positives inside the split whose (user, post) pair the user had
not already interacted with before the split starts (those are filtered from every ranking, so they
could never be recommended); ``seen`` lists every pair before the split start, positive or not.
Item features in ``items.parquet`` are each post's latest before the validation start (what
validation may see); ``test/items.parquet`` holds them as of the test start, for scoring the test
split; with per-user splits each split directory also holds them as of buckets of its users' own starts
(:mod:`socialflywheel.recsys.holdout`). Besides the contract's files the prepared root holds ``users.parquet``
(user_idx -> user_id),
``serving/{queries,items}.parquet`` (every user's and post's inputs as of the end of the data) and
``refit/``: the train and validation positives as one more training set (``refit/train`` shards and
``refit/meta.json``, whose item counts cover both), for refitting the selected model on everything
before the test period, as the baselines are refit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from socialflywheel.recsys._arrow import (
    LatestRows,
    TableFiles,
    dense_lists,
    encode,
    iter_batches,
    list_array,
    matrix_column,
    seconds,
    table_files,
    vocabulary,
)
from socialflywheel.recsys.catalogue import catalogue, items_table
from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.holdout import start_buckets, write_queries, write_split
from socialflywheel.recsys.shards import BlockSpill, ShardOrder, shard_plan
from socialflywheel.recsys.splits import (
    END_OF_TIME,
    SPLITS,
    Positives,
    SplitLeakError,
    split_bounds,
    user_split_bounds,
)
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

__all__ = ["ShardOrder", "SplitLeakError", "prepare_shards"]


def _interactions(files: TableFiles, *, batch_rows: int) -> dict[str, Any]:
    """Pass 1: ids (batch-local dictionary codes remapped to sorted vocabularies), ts, label, split, weight."""
    cols = ["user_id", "post_id", "ts", "label", "split", "weight"]
    users, posts, parts = [], [], []
    for sb in iter_batches(files, cols, batch_rows=batch_rows):
        b = sb.batch
        u = pc.dictionary_encode(b.column("user_id"))
        p = pc.dictionary_encode(b.column("post_id"))
        users.append(u.dictionary)
        posts.append(p.dictionary)
        split = encode(b.column("split"), pa.array(SPLITS))
        parts.append(
            {
                "u_codes": np.asarray(pc.fill_null(u.indices, -1).to_numpy(zero_copy_only=False), np.int64),
                "p_codes": np.asarray(pc.fill_null(p.indices, -1).to_numpy(zero_copy_only=False), np.int64),
                "ts": seconds(b.column("ts")),
                "label": np.asarray(pc.fill_null(b.column("label"), 0).to_numpy(zero_copy_only=False), np.int8),
                "split": split.astype(np.int8),
                "weight": np.asarray(pc.fill_null(b.column("weight"), 1.0).to_numpy(zero_copy_only=False), np.float32),
            }
        )
    return {"users": users, "posts": posts, "parts": parts}


def _remap(parts: list[dict[str, Any]], dicts: list[pa.Array], vocab: pa.Array, key: str) -> np.ndarray:
    out = []
    for part, d in zip(parts, dicts, strict=True):
        local = encode(d, vocab)
        codes = part[key]
        out.append(np.where(codes >= 0, local[np.maximum(codes, 0)] if len(local) else -1, -1))
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _feature_dims(files: TableFiles) -> tuple[int, int]:
    for sb in iter_batches(files, ["user_features", "item_features"], batch_rows=4096):
        dims = []
        for name in ("user_features", "item_features"):
            lengths = pc.list_value_length(sb.batch.column(name))
            dims.append(int(pc.max(lengths).as_py() or 0))
        if dims[0] or dims[1]:
            return dims[0], dims[1]
    return 0, 0


def prepare_shards(
    lake: Lake,
    out_dir: str | Path,
    *,
    history_len: int = 20,
    hashtag_len: int = 4,
    rows_per_group: int = 65536,
    batch_rows: int = 65536,
    seed: int = 0,
    split_by: Literal["time", "user_time"] = "time",
    shard_order: ShardOrder = "random",
    val_max_users: int | None = None,
) -> DatasetMeta:
    """Write the prepared dataset of ``gold.training_examples`` under ``out_dir`` and return its meta.

    Args:
        lake: The lake (``gold.training_examples`` and ``silver.posts`` are read; versions recorded).
        out_dir: Output root (created; files in it are overwritten).
        history_len: Recent positive items kept per history.
        hashtag_len: Hashtags kept per item (recorded in the meta).
        rows_per_group: Parquet row-group size of the training shards.
        batch_rows: Rows per record batch read from the source.
        seed: Seeds the shuffle of rows inside each shard.
        split_by: ``time``: the source's splits are global time periods (train before val before
            test, checked); ``user_time``: each user's own rows are time-ordered train, val, test
            (checked per user; the queries, seen items and targets are per user as of their own
            split starts), as in the per-user 80/20 evaluation of rating data sets.
        shard_order: ``random``: blocks of one global seeded shuffle; ``time``: consecutive time blocks,
            each shuffled by ``seed``.
        val_max_users: Validation (model selection, early stopping, baseline tuning) on at most this many of its
            users, a fixed sample; the test split always holds every user. None: every user.

    Returns:
        The :class:`DatasetMeta` saved as ``meta.json``; ``extra`` holds the split starts, the Delta
        versions read and the row counts that reconcile with the source.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    files, version = table_files(lake, TRAINING_EXAMPLES_NAME)
    raw = _interactions(files, batch_rows=batch_rows)
    parts = raw["parts"]
    user_vocab = vocabulary(raw["users"])
    cat = catalogue(lake, vocabulary(raw["posts"]))
    num_users, num_items = len(user_vocab), len(cat["post_ids"])
    data = {
        "users": _remap(parts, raw["users"], user_vocab, "u_codes"),
        "items": _remap(parts, raw["posts"], cat["post_ids"], "p_codes"),
        **{k: np.concatenate([p[k] for p in parts]) for k in ("ts", "label", "split", "weight")},
    }
    valid = (data["users"] >= 0) & (data["items"] >= 0) & (data["split"] >= 0)
    if split_by == "time":
        val_start, test_start, end = split_bounds(data["ts"][valid], data["split"][valid])
        user_val = np.full(num_users, val_start, dtype=np.int64)
        user_test = np.full(num_users, test_start, dtype=np.int64)
    else:
        v = valid
        user_val, user_test, end = user_split_bounds(data["users"][v], data["ts"][v], data["split"][v], num_users)
        # Baselines' popularity is taken "before the split start": with per-user splits, all of train.
        val_start = test_start = end + 1
    user_end = np.full(num_users, END_OF_TIME, dtype=np.int64)
    positive = valid & (data["label"] == 1)
    pos = Positives(data["users"][positive], data["items"][positive], data["ts"][positive], num_users)
    train_mask = positive & (data["split"] == 0)
    item_counts = np.bincount(data["items"][train_mask], minlength=num_items)
    ufd, ifd = _feature_dims(files)
    user_latest = {
        name: LatestRows(size=num_users, dim=ufd, cutoff=c)
        for name, c in (("val", user_val), ("test", user_test), ("end", user_end))
    }
    item_latest = {
        name: LatestRows(size=num_items, dim=ifd, cutoff=c)
        for name, c in (
            ("val", int(user_val.min(initial=END_OF_TIME))),
            ("test", int(user_test.min(initial=END_OF_TIME))),
            ("end", END_OF_TIME),
        )
    }
    snapshots: dict[str, list[LatestRows] | None] = {"val": None, "test": None}
    if split_by == "user_time":  # item features as of each bucket of the users' own starts (see holdout.py)
        for name, starts in (("val", user_val), ("test", user_test)):
            snapshots[name] = [LatestRows(size=num_items, dim=ifd, cutoff=int(c)) for c in start_buckets(starts)]
    refit_mask = positive & (data["split"] <= 1)
    plans, spills = {}, {}
    for name, mask, out in (("train", train_mask, root / "train"), ("refit", refit_mask, root / "refit" / "train")):
        n = int(mask.sum())
        blocks = max(1, round(n / rows_per_group))
        plans[name] = shard_plan(data, np.flatnonzero(mask), blocks=blocks, seed=seed, order=shard_order)
        spills[name] = BlockSpill(out, rows=n, blocks=blocks)
    offset = 0
    for sb in iter_batches(files, ["user_features", "item_features"], batch_rows=batch_rows):
        n = sb.batch.num_rows
        rows = slice(offset, offset + n)
        offset += n
        u, i, t = data["users"][rows], data["items"][rows], data["ts"][rows]
        uf = dense_lists(sb.batch.column("user_features"), ufd)
        itf = dense_lists(sb.batch.column("item_features"), ifd)
        for lat in user_latest.values():
            lat.update(u, t, uf)
        for lat in [*item_latest.values(), *(x for snaps in snapshots.values() for x in snaps or ())]:
            lat.update(i, t, itf)
        sel = np.flatnonzero(refit_mask[rows])
        if len(sel):
            table = _examples(
                u[sel],
                i[sel],
                t[sel],
                data["weight"][rows][sel],
                uf[sel],
                itf[sel],
                cat=cat,
                pos=pos,
                history_len=history_len,
            )
            for name, spill in spills.items():
                position = plans[name][rows][sel]
                mine = position >= 0
                if mine.any():
                    spill.add(table.filter(pa.array(mine)), position[mine])
    written = spills["train"].finish()
    refit_written = spills["refit"].finish()
    pq.write_table(items_table(cat, item_latest["val"].values), root / "items.parquet")
    (root / "test").mkdir(exist_ok=True)
    pq.write_table(items_table(cat, item_latest["test"].values), root / "test" / "items.parquet")
    counts: dict[str, int] = {"read": len(data["ts"]), "invalid": int((~valid).sum()), "train_examples": written}
    for name, lo, hi in (("val", user_val, user_test), ("test", user_test, user_end)):
        counts.update(
            write_split(
                root,
                name,
                lo=lo,
                hi=hi,
                data={k: v[valid] for k, v in data.items()},
                pos=pos,
                latest=user_latest[name],
                num_items=num_items,
                history_len=history_len,
                max_users=val_max_users if name == "val" else None,
                item_snapshots=snapshots[name],
            )
        )
    counts["train_positives"] = int(train_mask.sum())
    counts["negatives"] = int((valid & (data["label"] != 1)).sum())
    write_queries(
        root / "serving" / "queries.parquet",
        np.arange(num_users, dtype=np.int64),
        at=user_end - 1,
        pos=pos,
        latest=user_latest["end"],
        history_len=history_len,
    )
    pq.write_table(items_table(cat, item_latest["end"].values), root / "serving" / "items.parquet")
    user_pos = np.bincount(pos.users, minlength=num_users)
    pq.write_table(
        pa.table(
            {
                "user_idx": np.arange(num_users, dtype=np.int64),
                "user_id": user_vocab,
                "positives": user_pos.astype(np.int64),
            }
        ),
        root / "users.parquet",
    )
    meta = DatasetMeta(
        num_users=num_users,
        num_items=num_items,
        num_categories=len(cat["categories"]),
        num_authors=len(cat["authors"]),
        num_hashtags=max(1, len(cat["hashtags"])),
        user_feature_dim=ufd,
        item_feature_dim=ifd,
        history_len=history_len,
        hashtag_len=hashtag_len,
        item_counts=item_counts.astype(int).tolist(),
        train_rows=written,
        extra={
            "source": TRAINING_EXAMPLES_NAME,
            "split_by": split_by,
            "shard_order": shard_order,
            "shard_rows": rows_per_group,
            "val_start_ts": val_start,
            "test_start_ts": test_start,
            "end_ts": end,
            "delta_versions": dict(lake.versions_read),
            "source_version": version,
            "source_files": len(files.paths),
            "rows": counts,
            "categories": cat["categories"].to_pylist(),
        },
    )
    meta.save(root / "meta.json")
    refit_counts = np.bincount(data["items"][refit_mask], minlength=num_items)
    refit_extra = {**meta.extra, "refit_of": "train + val positives", "train_examples": refit_written}
    dataclasses.replace(
        meta, item_counts=refit_counts.astype(int).tolist(), train_rows=refit_written, extra=refit_extra
    ).save(root / "refit" / "meta.json")
    return meta


def _examples(
    u: np.ndarray,
    i: np.ndarray,
    t: np.ndarray,
    w: np.ndarray,
    uf: np.ndarray,
    itf: np.ndarray,
    *,
    cat: dict[str, Any],
    pos: Positives,
    history_len: int,
) -> pa.Table:
    tags = [cat["tags"][k] for k in i]
    return pa.table(
        {
            "user_idx": pa.array(u),
            "item_idx": pa.array(i),
            "weight": pa.array(w.astype(np.float32)),
            "ts": pa.array(t),
            "user_features": matrix_column(uf),
            "user_history": pos.history(u, t, history_len),
            "item_category": pa.array(cat["category"][i]),
            "item_author_idx": pa.array(cat["author"][i]),
            "item_hashtags": list_array(
                np.concatenate(tags) if tags else np.zeros(0, np.int32), np.array([len(x) for x in tags]), pa.int32()
            ),
            "item_features": matrix_column(itf),
        }
    )

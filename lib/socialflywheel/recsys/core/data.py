"""The prepared-shard contract and a streaming, rank-sharded reader of training examples.

A *prepared dataset* is a directory that the feature job (or :mod:`.synthetic`) writes and the
trainer reads with PyArrow alone::

    <root>/meta.json              DatasetMeta: vocab sizes, feature dims, item counts for logQ
    <root>/train/*.parquet        training examples, one row per (user, item, ts) positive
    <root>/items.parquet          the catalogue, one row per item_idx (the item-tower inputs)
    <root>/{val,test}/queries.parquet   user-tower inputs as of the split's start (point-in-time)
    <root>/{val,test}/targets.parquet   (user_idx, item_idx[, ts]) interactions inside the split
    <root>/{val,test}/seen.parquet      (user_idx, item_idx) interactions before the split

Training example columns (all integer-encoded, ids dense from 0):

==================  =============================  ============================================
column              Arrow type                     meaning
==================  =============================  ============================================
user_idx            int64                          user id in ``[0, num_users)``
item_idx            int64                          positive item in ``[0, num_items)``
weight              float32 (optional, 1.0)        example weight (e.g. by event type)
ts                  int64                          event time, seconds since the epoch (UTC)
user_features       list<float32> or fixed_size    ``user_feature_dim`` floats, as of ``ts``
user_history        list<int64>                    item_idx the user engaged with strictly
                                                   before ``ts``, oldest first; the loader keeps
                                                   the last ``history_len`` (pad -1)
item_category       int32                          in ``[0, num_categories)``
item_author_idx     int64                          in ``[0, num_authors)``
item_hashtags       list<int32>                    in ``[0, num_hashtags)``; first ``hashtag_len``
item_features       list<float32> or fixed_size    ``item_feature_dim`` floats (content)
==================  =============================  ============================================

``items.parquet`` holds ``item_idx`` and the five ``item_*`` columns; ``queries.parquet`` holds
``user_idx, user_features, user_history``. Shards are read one row group at a time; whole row groups
are dealt to ranks, so no process ever holds the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from torch.utils.data import IterableDataset

Batch = dict[str, np.ndarray]

USER_COLUMNS = ("user_idx", "user_features", "user_history")
ITEM_COLUMNS = ("item_idx", "item_category", "item_author_idx", "item_hashtags", "item_features")
EXAMPLE_COLUMNS = (*USER_COLUMNS, *ITEM_COLUMNS, "ts")


@dataclass
class DatasetMeta:
    """Vocabulary sizes, feature widths and item counts of a prepared dataset (``meta.json``)."""

    num_users: int
    num_items: int
    num_categories: int
    num_authors: int
    num_hashtags: int
    user_feature_dim: int
    item_feature_dim: int
    history_len: int = 20
    hashtag_len: int = 4
    item_counts: list[int] = field(default_factory=list)
    """Training-example count per item_idx (length num_items): the logQ sampling probabilities."""
    train_rows: int = 0
    extra: dict[str, object] = field(default_factory=dict)
    """Free-form provenance (Delta versions read, split timestamps, source)."""

    @classmethod
    def load(cls, path: str | Path) -> DatasetMeta:
        """Read ``meta.json`` (a file, or a directory that contains it)."""
        p = Path(path)
        if p.is_dir():
            p = p / "meta.json"
        return cls(**json.loads(p.read_text()))

    def save(self, path: str | Path) -> None:
        """Write ``meta.json`` (a file, or a directory that gets one)."""
        p = Path(path)
        if p.is_dir():
            p = p / "meta.json"
        p.write_text(json.dumps(asdict(self)))

    def tower_sizes(self) -> dict[str, int]:
        """The vocabulary sizes and feature widths a ``TwoTower`` is built with (all but ``num_users``)."""
        names = ("num_items", "num_categories", "num_authors", "num_hashtags", "user_feature_dim", "item_feature_dim")
        return {k: int(getattr(self, k)) for k in names}

    def log_q(self) -> np.ndarray:
        """Log sampling probability of each item under in-batch sampling (add-one smoothed)."""
        counts = np.asarray(self.item_counts, dtype=np.float64)
        if counts.size != self.num_items:
            counts = np.ones(self.num_items)
        counts = counts + 1.0
        log_q: np.ndarray = np.log(counts / counts.sum()).astype(np.float32)
        return log_q


@dataclass(frozen=True)
class RowGroupRef:
    """One row group of one shard file."""

    path: str
    index: int
    num_rows: int


def scan_row_groups(shards_dir: str | Path) -> list[RowGroupRef]:
    """List every row group of every ``*.parquet`` under ``shards_dir`` (footers only, sorted by path)."""
    refs: list[RowGroupRef] = []
    for path in sorted(Path(shards_dir).rglob("*.parquet")):
        md = pq.ParquetFile(path).metadata
        refs.extend(RowGroupRef(str(path), i, md.row_group(i).num_rows) for i in range(md.num_row_groups))
    return [r for r in refs if r.num_rows > 0]


def assign_row_groups(
    refs: list[RowGroupRef], *, rank: int, world_size: int, epoch: int, seed: int
) -> list[RowGroupRef]:
    """Deal whole row groups to ranks for one epoch, in a seeded order, balancing rows.

    Row groups are permuted by ``(seed, epoch)`` and then given, largest first, to the rank with the
    fewest rows so far (round-robin when sizes are equal). Every rank computes the same deal.

    Args:
        refs: All row groups (from :func:`scan_row_groups`).
        rank: This process's rank.
        world_size: Number of processes.
        epoch: Epoch number (changes the order).
        seed: Training seed.

    Returns:
        This rank's row groups, in reading order.
    """
    order = np.random.default_rng([seed, epoch, 7]).permutation(len(refs))
    by_size = sorted(order.tolist(), key=lambda i: -refs[i].num_rows)
    loads = [0] * world_size
    mine: list[int] = []
    for i in by_size:
        r = min(range(world_size), key=lambda k: (loads[k], k))
        loads[r] += refs[i].num_rows
        if r == rank:
            mine.append(i)
    pos = {int(i): n for n, i in enumerate(order)}
    return [refs[i] for i in sorted(mine, key=lambda i: pos[i])]


def steps_per_epoch(total_rows: int, *, world_size: int, per_rank_batch: int) -> int:
    """Steps every rank runs per epoch: one pass over the data at the global batch size (>= 1).

    A rank whose row groups run out first re-reads them (in another order) so that all ranks run
    exactly this many steps and DDP's collectives never wait on a finished rank.
    """
    return max(1, total_rows // (world_size * per_rank_batch))


def _offsets(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    values = arr.flatten().to_numpy(zero_copy_only=False)
    return np.concatenate([[0], np.cumsum(lengths)]), values


def pad_lists(arr: pa.Array | pa.ChunkedArray, *, length: int, keep: str, pad: float, dtype: type) -> np.ndarray:
    """Turn a list column into a dense ``[rows, length]`` matrix, keeping the first or last entries.

    Args:
        arr: A list, large-list or fixed-size-list column.
        length: Output width.
        keep: ``"first"`` (hashtags, features) or ``"last"`` (history, oldest first in the column).
        pad: Fill value for short lists.
        dtype: Output NumPy dtype.

    Returns:
        The padded matrix.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets, values = _offsets(arr)
    n = len(offsets) - 1
    starts, ends = offsets[:-1], offsets[1:]
    if keep == "last":
        starts = np.maximum(starts, ends - length)
    idx = starts[:, None] + np.arange(length)[None, :]
    valid = idx < ends[:, None]
    out: np.ndarray = np.full((n, length), pad, dtype=dtype)
    if values.size:
        out[valid] = values[np.minimum(idx, values.size - 1)][valid]
    return out


def _ints(table: pa.Table, name: str, dtype: type = np.int64) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy(), dtype=dtype)


def user_arrays(table: pa.Table, meta: DatasetMeta) -> Batch:
    """User-tower inputs of a table that has ``user_idx, user_features, user_history``."""
    return {
        "user_idx": _ints(table, "user_idx"),
        "user_features": pad_lists(
            table.column("user_features"), length=meta.user_feature_dim, keep="first", pad=0.0, dtype=np.float32
        ),
        "user_history": pad_lists(
            table.column("user_history"), length=meta.history_len, keep="last", pad=-1, dtype=np.int64
        ),
    }


def item_arrays(table: pa.Table, meta: DatasetMeta) -> Batch:
    """Item-tower inputs of a table that has the ``item_*`` columns."""
    return {
        "item_idx": _ints(table, "item_idx"),
        "item_category": _ints(table, "item_category"),
        "item_author_idx": _ints(table, "item_author_idx"),
        "item_hashtags": pad_lists(
            table.column("item_hashtags"), length=meta.hashtag_len, keep="first", pad=-1, dtype=np.int64
        ),
        "item_features": pad_lists(
            table.column("item_features"), length=meta.item_feature_dim, keep="first", pad=0.0, dtype=np.float32
        ),
    }


def example_arrays(table: pa.Table, meta: DatasetMeta) -> Batch:
    """Both towers' inputs plus ``weight`` for a table of training examples."""
    out: Batch = {**user_arrays(table, meta), **item_arrays(table, meta)}
    if "weight" in table.column_names:
        out["weight"] = np.asarray(table.column("weight").to_numpy(), dtype=np.float32)
    else:
        out["weight"] = np.ones(table.num_rows, dtype=np.float32)
    if "ts" in table.column_names:
        out["ts"] = np.asarray(table.column("ts").to_numpy(), dtype=np.int64)
    return out


def _concat(parts: list[Batch]) -> Batch:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _take(batch: Batch, idx: np.ndarray) -> Batch:
    return {k: v[idx] for k, v in batch.items()}


class ShardStream(IterableDataset[Batch]):
    """Streams fixed-size batches of this rank's row groups, shuffled within a buffer.

    Every rank yields exactly :attr:`steps_per_epoch` batches per epoch, cycling over its own row
    groups if it runs out, so uneven shards never leave a rank waiting in a collective. The order is
    a pure function of ``(seed, epoch, rank)``: a resumed run skips the first ``start_step`` batches
    and sees exactly what an uninterrupted run would have. With ``examples_per_epoch`` an epoch stops after that
    many examples (rounded up to whole global batches): each epoch then trains on another seeded subsample.
    """

    def __init__(
        self,
        *,
        shards_dir: str | Path,
        meta: DatasetMeta,
        rank: int = 0,
        world_size: int = 1,
        per_rank_batch: int = 256,
        seed: int = 0,
        shuffle_buffer: int = 16384,
        examples_per_epoch: int | None = None,
    ) -> None:
        self.refs = scan_row_groups(shards_dir)
        if not self.refs:
            raise FileNotFoundError(f"no non-empty Parquet row groups under {shards_dir}")
        self.meta = meta
        self.rank, self.world_size = rank, world_size
        self.per_rank_batch = per_rank_batch
        self.seed = seed
        self.shuffle_buffer = max(shuffle_buffer, 2 * per_rank_batch)
        self.total_rows = sum(r.num_rows for r in self.refs)
        self.steps_per_epoch = steps_per_epoch(self.total_rows, world_size=world_size, per_rank_batch=per_rank_batch)
        if examples_per_epoch is not None:  # a subsample: the epoch's seeded deal of row groups, cut short
            cap = -(-examples_per_epoch // (world_size * per_rank_batch))
            self.steps_per_epoch = max(1, min(self.steps_per_epoch, cap))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch that ``iter(self)`` streams."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[Batch]:
        """Batches of the current epoch (see :meth:`set_epoch`)."""
        return self.iter_epoch(self.epoch)

    def _row_groups(self, epoch: int) -> Iterator[Batch]:
        cycle = 0
        while True:
            mine = assign_row_groups(
                self.refs, rank=self.rank, world_size=self.world_size, epoch=epoch * 1000 + cycle, seed=self.seed
            )
            if not mine:  # more ranks than row groups: borrow a seeded one so the step count holds
                pick = np.random.default_rng([self.seed, epoch, cycle, self.rank]).integers(len(self.refs))
                mine = [self.refs[int(pick)]]
            for ref in mine:
                table = pq.ParquetFile(ref.path).read_row_group(ref.index)
                yield example_arrays(table, self.meta)
            cycle += 1

    def iter_epoch(self, epoch: int, start_step: int = 0) -> Iterator[Batch]:
        """Yield this rank's batches ``start_step .. steps_per_epoch - 1`` of ``epoch``.

        Args:
            epoch: Epoch number (seeds the row-group deal and the shuffle).
            start_step: Batches to skip (already trained before a restart).

        Yields:
            Dicts of NumPy arrays with ``per_rank_batch`` rows each.
        """
        rng = np.random.default_rng([self.seed, epoch, self.rank, 11])
        bsz = self.per_rank_batch
        pool: list[Batch] = []
        pool_rows = 0
        step = 0
        source = self._row_groups(epoch)
        while step < self.steps_per_epoch:
            while pool_rows < self.shuffle_buffer:
                part = next(source)
                pool.append(part)
                pool_rows += len(part["user_idx"])
            merged = _concat(pool)
            merged = _take(merged, rng.permutation(pool_rows))
            emit = max(1, (pool_rows - self.shuffle_buffer // 2) // bsz)
            emit = min(emit, self.steps_per_epoch - step)
            for b in range(emit):
                if step >= start_step:
                    yield {k: v[b * bsz : (b + 1) * bsz] for k, v in merged.items()}
                step += 1
            rest = {k: v[emit * bsz :] for k, v in merged.items()}
            pool, pool_rows = [rest], pool_rows - emit * bsz


def to_tensors(batch: Batch, device: torch.device) -> dict[str, torch.Tensor]:
    """Move a NumPy batch to ``device`` as tensors."""
    return {
        k: torch.from_numpy(np.require(v, requirements=["C", "W"])).to(device, non_blocking=True)
        for k, v in batch.items()
    }


def read_pairs(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(user_idx, item_idx)`` pairs from a Parquet file (targets or seen)."""
    t = pq.read_table(path, columns=["user_idx", "item_idx"])
    return _ints(t, "user_idx"), _ints(t, "item_idx")


def random_negatives(
    items: dict[str, np.ndarray] | None, count: int, seed: int, epoch: int, step: int
) -> dict[str, np.ndarray] | None:
    """``count`` random catalogue items for a step (None: none asked for); the same on every rank, and on resume."""
    if not items or count <= 0:
        return None
    rng = np.random.default_rng([seed, epoch, step, 13])  # same on every rank, replayable on resume
    ids = rng.integers(0, len(items["item_idx"]), size=count)
    return {k: v[ids] for k, v in items.items()}

"""Item time features as of a query time: age and recent positives, for the two-tower's time prior.

The simulation (and social feeds generally) shows a post mostly while it is young and while it is
being engaged with, so whether an item is *alive and hot at the query time* explains much of what a
user will engage with next. These features depend on the query time, not only on the item, so they
cannot live in the item tower's static vector: training gives every (example, candidate) pair the
candidate's features as of that example's hour (point in time: age at the start of the hour and
positives strictly before it; whether the candidate exists is checked at the exact time), computed
once per distinct (hour, item) pair of a batch that some row needs (:meth:`ItemClock.batch_pairs`, read
from a table of every pair when it fits), and serving computes them once as of the split start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from socialflywheel.recsys.core.data import scan_row_groups

WINDOWS_H = (6, 24, 72)
NUM_TIME_FEATURES = 2 + len(WINDOWS_H)


class ItemClock:
    """Creation times and bucketed cumulative positive counts per item.

    Args:
        created: ``[num_items]`` creation time per item (seconds; items unknown: very early).
        items: item_idx of the known positives.
        ts: Their times (seconds).
        bucket_s: Width of a time bucket; counts are taken strictly before the query's bucket.
    """

    def __init__(self, created: np.ndarray, items: np.ndarray, ts: np.ndarray, *, bucket_s: int = 3600) -> None:
        self.created = np.asarray(created, dtype=np.int64)
        n = len(self.created)
        ts = np.asarray(ts, dtype=np.int64)
        self.t0 = int(ts.min()) if len(ts) else 0
        self.bucket_s = int(bucket_s)
        self.num_buckets = int((int(ts.max()) - self.t0) // self.bucket_s) + 2 if len(ts) else 2
        per = np.zeros((n, self.num_buckets + 1), dtype=np.int32)
        b = np.clip((ts - self.t0) // self.bucket_s, 0, self.num_buckets - 1)
        np.add.at(per, (np.asarray(items, dtype=np.int64), b + 1), 1)
        self.cum = torch.from_numpy(np.cumsum(per, axis=1).astype(np.float32))  # cum[:, h] = count before bucket h
        self.created_t = torch.from_numpy(self.created)
        self.table: torch.Tensor | None = None  # [(num_buckets + 1) * n, F] once tabulate() has run

    def tabulate(self, *, max_bytes: int = 256 << 20) -> bool:
        """Compute every (bucket, item) feature row once, when they fit in ``max_bytes``; True if they did.

        The features of a pair never change during a training run, so a step that reads them from the table
        does one gather instead of a dozen passes over its pairs. Values are :meth:`pair_features`' own.
        """
        n, rows = len(self.created), self.num_buckets + 1
        if rows * n * NUM_TIME_FEATURES * 4 > max_bytes:
            return False
        parts = [
            self.pair_features(torch.arange(n)[None, :], torch.arange(a, min(a + 64, rows))[:, None])
            for a in range(0, rows, 64)
        ]
        self.table = torch.cat(parts).reshape(rows * n, NUM_TIME_FEATURES)
        return True

    def features(self, items: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, N, F]`` features of candidates ``items [N]`` as of times ``t [B]``, and ``[B, N]`` alive mask."""
        feats, inverse, alive = self.bucket_features(items, t)
        return feats[inverse], alive

    def bucket_features(self, items: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features once per distinct time bucket of ``t``, with the row -> bucket index and the alive mask.

        Returns the ``[U, N, F]`` bucket features, the ``[B]`` row -> bucket index and the ``[B, N]`` alive
        mask (exact: created at or before each row's own time).

        Age is taken at the start of the query's bucket, like the counts, so every feature is a function
        of (bucket, item): a batch drawn from a few days of data holds far fewer buckets than rows, and
        the prior's MLP runs on ``U x N`` pairs instead of ``B x N``.
        """
        dev = items.device
        items, t = items.cpu(), t.cpu()
        created = self.created_t[items]
        alive = t[:, None] >= created[None, :]
        raw, inverse = torch.unique(self.bucket_of(t), return_inverse=True)
        feats = self.pair_features(items[None, :], raw[:, None])
        return feats.to(dev), inverse.to(dev), alive.to(dev)

    def bucket_of(self, t: torch.Tensor) -> torch.Tensor:
        """The (unclamped) time bucket of each time in ``t``."""
        return torch.div(t - self.t0, self.bucket_s, rounding_mode="floor")

    def pair_features(self, items: torch.Tensor, bucket: torch.Tensor) -> torch.Tensor:
        """``[..., F]`` features of ``items`` as of the start of time bucket ``bucket`` (broadcast together)."""
        created = self.created_t[items]
        h = bucket.clamp(0, self.num_buckets)
        age_h = ((self.t0 + bucket * self.bucket_s) - created).float() / 3600.0
        row = items * self.cum.shape[1]  # flat offsets: one gather per count instead of a 2-D index
        cum = self.cum.view(-1)
        now = cum[row + h]
        feats = [torch.log1p(age_h.clamp(min=0)) / 4.0, torch.log1p(now) / 4.0]
        for w in WINDOWS_H:
            back = (h - max(1, (w * 3600) // self.bucket_s)).clamp(min=0)
            feats.append(torch.log1p(now - cum[row + back]) / 4.0)
        return torch.stack(feats, dim=-1)

    def batch_pairs(self, items: torch.Tensor, t: torch.Tensor, own: torch.Tensor) -> PriorPairs:
        """The distinct (time bucket, item) pairs a training batch's softmax needs, computed once each.

        Every feature is a function of (bucket, item), so a batch of ``B`` rows against ``N`` candidates needs
        the prior on at most (distinct buckets) x (distinct candidate items) pairs, and only on those where the
        item exists by the bucket's last row time: the others are masked out of every row of that bucket.

        Args:
            items: ``[N]`` candidate item_idx (duplicates allowed).
            t: ``[B]`` row times (seconds).
            own: ``[B]`` column of each row's own positive among ``items`` (kept in its softmax whatever its time).

        Returns:
            A :class:`PriorPairs` on the device of ``items``.
        """
        dev = items.device
        items, t, own = items.cpu(), t.cpu(), own.cpu()
        uniq, col = torch.unique(items, return_inverse=True)
        raw, row = torch.unique(self.bucket_of(t), return_inverse=True)
        created = self.created_t[uniq]
        alive = t[:, None] >= created[col][None, :]
        rows = torch.arange(len(t))
        alive[rows, own] = True
        latest = torch.full((len(raw),), torch.iinfo(torch.int64).min, dtype=torch.int64)
        latest.scatter_reduce_(0, row, t, reduce="amax")
        need = created[None, :] <= latest[:, None]
        need[row, col[own]] = True
        hb, jb = need.nonzero(as_tuple=True)  # row-major, as the running count below numbers them
        slot = torch.where(need, need.view(-1).cumsum(0).view(need.shape) - 1, len(hb))
        # rows whole, then a gather within them: index_select along dim 1 is ~10x slower on the CPU
        index = slot.index_select(0, row).gather(1, col[None, :].expand(len(row), -1))
        if self.table is not None and 0 <= int(raw[0]) and int(raw[-1]) <= self.num_buckets:
            feats = self.table.index_select(0, raw[hb] * len(self.created) + uniq[jb])
        else:
            feats = self.pair_features(uniq[jb], raw[hb])
        return PriorPairs(features=feats.to(dev), index=index.to(dev), alive=alive.to(dev))


@dataclass
class PriorPairs:
    """A batch's time-prior inputs: features once per needed (bucket, item) pair, and where each row reads them.

    Attributes:
        features: ``[P, F]`` features of the needed pairs.
        index: ``[B, N]`` pair of each (row, candidate) in ``0 .. P``; ``P`` (one past the end) for pairs no row
            needs, whose logit is masked anyway.
        alive: ``[B, N]`` candidate created at or before the row's exact time (and each row's own positive).
    """

    features: torch.Tensor
    index: torch.Tensor
    alive: torch.Tensor

    def logits(self, prior: torch.Tensor) -> torch.Tensor:
        """``[B, N]`` extra logits from the ``[P]`` prior of :attr:`features`: ``-inf`` where not alive."""
        padded = torch.cat([prior.float(), prior.new_zeros(1, dtype=torch.float32)])
        # index_select's backward is one index_add_ over the B x N gradients (a [] gather's sorts them first)
        spread = padded.index_select(0, self.index.reshape(-1)).reshape(self.index.shape)
        return spread.masked_fill(~self.alive, float("-inf"))


def created_times(items_path: str | Path, num_items: int) -> np.ndarray | None:
    """``item_created_ts`` of the catalogue by item_idx, or None when the catalogue lacks it."""
    t = pq.read_table(items_path)
    if "item_created_ts" not in t.column_names:
        return None
    out = np.zeros(num_items, dtype=np.int64)
    out[np.asarray(t.column("item_idx").to_numpy(), np.int64)] = np.asarray(t.column("item_created_ts").to_numpy())
    return out


def train_positives(shards_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(item_idx, ts)`` of every training example, one row group at a time."""
    items, ts = [], []
    for ref in scan_row_groups(shards_dir):
        t = pq.ParquetFile(ref.path).read_row_group(ref.index, columns=["item_idx", "ts"])
        items.append(np.asarray(t.column("item_idx").to_numpy(), np.int64))
        ts.append(np.asarray(t.column("ts").to_numpy(), np.int64))
    if not items:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(items), np.concatenate(ts)

"""Item time features as of a query time: age and recent positives, for the two-tower's time prior.

The simulation (and social feeds generally) shows a post mostly while it is young and while it is
being engaged with, so whether an item is *alive and hot at the query time* explains much of what a
user will engage with next. These features depend on the query time, not only on the item, so they
cannot live in the item tower's static vector: training gives every (example, candidate) pair the
candidate's features as of that example's hour (point in time: age at the start of the hour and
positives strictly before it; whether the candidate exists is checked at the exact time), computed
once per distinct hour of a batch, and serving computes them once as of the split start.
"""

from __future__ import annotations

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
        raw, inverse = torch.unique(torch.div(t - self.t0, self.bucket_s, rounding_mode="floor"), return_inverse=True)
        h = raw.clamp(0, self.num_buckets)
        age_h = ((self.t0 + raw * self.bucket_s)[:, None] - created[None, :]).float() / 3600.0
        now = self.cum[items[None, :], h[:, None]]  # [U, N]
        feats = [torch.log1p(age_h.clamp(min=0)) / 4.0, torch.log1p(now) / 4.0]
        for w in WINDOWS_H:
            back = (h - max(1, (w * 3600) // self.bucket_s)).clamp(min=0)
            feats.append(torch.log1p(now - self.cum[items[None, :], back[:, None]]) / 4.0)
        return torch.stack(feats, dim=-1).to(dev), inverse.to(dev), alive.to(dev)


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

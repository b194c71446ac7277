"""Tower embeddings of items and query users, and the two-tower evaluation on a held-out split."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import torch

from socialflywheel.recsys.core.clock import ItemClock, created_times, train_positives
from socialflywheel.recsys.core.data import Batch, DatasetMeta, item_arrays, read_pairs, to_tensors, user_arrays
from socialflywheel.recsys.core.metrics import DEFAULT_KS, group_rows, metric_dict, ranking_metrics, topk_excluding
from socialflywheel.recsys.core.model import TwoTower
from socialflywheel.recsys.holdout import read_item_snapshots


@dataclass
class Split:
    """A held-out period: query users (as of its start), their targets and their seen items."""

    queries: Batch
    target_rows: np.ndarray
    target_items: np.ndarray
    seen_rows: np.ndarray
    seen_items: np.ndarray
    item_bucket: np.ndarray | None = None
    """Per-user splits: each query row's item-feature snapshot (an index into ``item_features``)."""
    item_features: np.ndarray | None = None
    """Per-user splits: the catalogue's item features as of each bucket's cutoff, ``[buckets, items, dim]``."""

    @property
    def users(self) -> np.ndarray:
        """user_idx of each query row."""
        return self.queries["user_idx"]

    def restrict(self, keep: np.ndarray) -> Split:
        """The split of the query rows where ``keep`` (a bool per row) holds, their targets and seen items with them."""
        new_row = np.cumsum(keep) - 1
        t, s = keep[self.target_rows], keep[self.seen_rows]
        return Split(
            {k: v[keep] for k, v in self.queries.items()},
            new_row[self.target_rows[t]],
            self.target_items[t],
            new_row[self.seen_rows[s]],
            self.seen_items[s],
            item_bucket=None if self.item_bucket is None else self.item_bucket[keep],
            item_features=self.item_features,
        )


def load_split(split_dir: str | Path, meta: DatasetMeta) -> Split:
    """Read ``queries.parquet``, ``targets.parquet`` and (optional) ``seen.parquet`` of a split."""
    d = Path(split_dir)
    table = pq.read_table(d / "queries.parquet")
    queries = user_arrays(table, meta)
    t_rows, t_items = group_rows(queries["user_idx"], *read_pairs(d / "targets.parquet"))
    if (d / "seen.parquet").exists():
        s_rows, s_items = group_rows(queries["user_idx"], *read_pairs(d / "seen.parquet"))
    else:
        s_rows, s_items = np.zeros(0, np.int64), np.zeros(0, np.int64)
    snapshots = read_item_snapshots(d, meta.num_items, meta.item_feature_dim)
    if snapshots is None:
        return Split(queries, t_rows, t_items, s_rows, s_items)
    bucket = np.asarray(table.column("item_bucket").to_numpy(), np.int64)
    return Split(queries, t_rows, t_items, s_rows, s_items, item_bucket=bucket, item_features=snapshots[1])


def load_items(path: str | Path, meta: DatasetMeta) -> Batch:
    """Read the catalogue, sorted by item_idx; it must hold every item_idx in ``[0, num_items)``."""
    items = item_arrays(pq.read_table(path), meta)
    order = np.argsort(items["item_idx"], kind="stable")
    items = {k: v[order] for k, v in items.items()}
    if not np.array_equal(items["item_idx"], np.arange(meta.num_items)):
        raise ValueError(f"{path} must hold exactly item_idx 0..{meta.num_items - 1}")
    return items


@torch.no_grad()
def embed(
    model: TwoTower, arrays: Batch, *, tower: str, device: torch.device | str | None = None, chunk: int = 8192
) -> np.ndarray:
    """Run one tower over NumPy inputs in chunks and return float32 vectors ``[rows, d]``.

    Args:
        model: The (unwrapped) two-tower model.
        arrays: User arrays (``tower="user"``) or item arrays (``tower="item"``).
        tower: ``"user"`` or ``"item"``.
        device: Where to run (default: where the model's parameters are).
        chunk: Rows per forward pass.

    Returns:
        The embeddings.
    """
    was_training = model.training
    model.eval()
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    fn = model.user_embed if tower == "user" else model.item_embed
    n = len(next(iter(arrays.values())))
    parts = []
    for a in range(0, n, chunk):
        part = to_tensors({k: v[a : a + chunk] for k, v in arrays.items()}, dev)
        parts.append(fn(part).float().cpu().numpy())
    model.train(was_training)
    return np.concatenate(parts) if parts else np.zeros((0, model.config["embedding_dim"]), np.float32)


@dataclass
class AsOf:
    """What is known about the catalogue at a split's start: creation times and positives before it."""

    at: int
    clock: ItemClock | None

    @classmethod
    def build(
        cls, root: str | Path, meta: DatasetMeta, *, at: int, extra: tuple[np.ndarray, np.ndarray] | None = None
    ) -> AsOf:
        """Creation times from ``items.parquet`` and positives from ``train/`` (plus ``extra`` (items, ts))."""
        created = created_times(Path(root) / "items.parquet", meta.num_items)
        if created is None:
            return cls(at=at, clock=None)
        items, ts = train_positives(Path(root) / "train")
        if extra is not None:
            items, ts = np.concatenate([items, extra[0]]), np.concatenate([ts, extra[1]])
        keep = ts < at
        return cls(at=at, clock=ItemClock(created, items[keep], ts[keep]))

    @torch.no_grad()
    def bias(self, model: TwoTower) -> np.ndarray | None:
        """Per-item score offset: ``temperature * prior`` as of ``at``; ``-inf`` for items not created yet."""
        if self.clock is None:
            return None
        ids = torch.arange(len(self.clock.created))
        feats, alive = self.clock.features(ids, torch.tensor([self.at]))
        out = np.zeros(len(ids), dtype=np.float32)
        if model.time_prior is not None:
            was_training = model.training
            model.eval()
            dev = next(model.parameters()).device
            out = (model.prior(feats.to(dev)).float().cpu().numpy()[0] * model.temperature).astype(np.float32)
            model.train(was_training)
        out[~alive.numpy()[0]] = -np.inf
        return out


def evaluate_two_tower(
    model: TwoTower,
    *,
    split: Split,
    items: Batch,
    meta: DatasetMeta,
    device: torch.device | str | None = None,
    ks: Sequence[int] = DEFAULT_KS,
    as_of: AsOf | None = None,
) -> list[dict[str, float]]:
    """Exact top-K by dot product over the catalogue, seen items excluded, scored on ``split``.

    With ``as_of``, items created after the split's start are left out (they did not exist when the
    list was made) and the model's time prior, as of the split's start, is added to every score. A per-user
    split's users each score the catalogue's item features as of their own bucket's cutoff.
    """
    user_vec = embed(model, split.queries, tower="user", device=device)
    snapshots = [items] if split.item_features is None else [{**items, "item_features": f} for f in split.item_features]
    # per-user split: each user scores the catalogue as of their own start (its bucket's snapshot)
    row_bucket = split.item_bucket if split.item_bucket is not None else np.zeros(len(user_vec), np.int64)
    item_vecs = np.stack([embed(model, snap, tower="item", device=device) for snap in snapshots])
    bias = as_of.bias(model) if as_of is not None else None
    if bias is None:
        bias = np.zeros(item_vecs.shape[1], dtype=np.float32)

    def scores(rows: np.ndarray) -> np.ndarray:
        out = np.empty((len(rows), item_vecs.shape[1]), np.float32)
        for b in np.unique(row_bucket[rows]):
            mine = row_bucket[rows] == b
            out[mine] = user_vec[rows[mine]] @ item_vecs[b].T
        out += bias[None, :]
        return out

    topk = topk_excluding(
        scores,
        num_rows=len(user_vec),
        k=max(ks),
        seen_rows=split.seen_rows,
        seen_items=split.seen_items,
    )
    return ranking_metrics(
        topk,
        target_rows=split.target_rows,
        target_items=split.target_items,
        num_items=meta.num_items,
        item_counts=np.asarray(meta.item_counts) if meta.item_counts else None,
        ks=ks,
    )


def make_val_fn(
    root: str | Path, meta: DatasetMeta, *, split: str = "val", device: torch.device | str | None = None
) -> Callable[[TwoTower], dict[str, float]]:
    """A validation callback for :func:`train`: flat metrics (``recall@50`` ...) on ``<root>/<split>``."""
    data = load_split(Path(root) / split, meta)
    items = load_items(Path(root) / "items.parquet", meta)
    as_of = None
    if meta.extra.get("split_by", "time") == "time" and f"{split}_start_ts" in meta.extra:
        as_of = AsOf.build(root, meta, at=int(meta.extra[f"{split}_start_ts"]))  # type: ignore[call-overload]

    def val_fn(model: TwoTower) -> dict[str, float]:
        return metric_dict(evaluate_two_tower(model, split=data, items=items, meta=meta, device=device, as_of=as_of))

    return val_fn

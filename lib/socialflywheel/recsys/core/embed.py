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


@dataclass
class Split:
    """A held-out period: query users (as of its start), their targets and their seen items."""

    queries: Batch
    target_rows: np.ndarray
    target_items: np.ndarray
    seen_rows: np.ndarray
    seen_items: np.ndarray

    @property
    def users(self) -> np.ndarray:
        """user_idx of each query row."""
        return self.queries["user_idx"]


def load_split(split_dir: str | Path, meta: DatasetMeta) -> Split:
    """Read ``queries.parquet``, ``targets.parquet`` and (optional) ``seen.parquet`` of a split."""
    d = Path(split_dir)
    queries = user_arrays(pq.read_table(d / "queries.parquet"), meta)
    t_rows, t_items = group_rows(queries["user_idx"], *read_pairs(d / "targets.parquet"))
    if (d / "seen.parquet").exists():
        s_rows, s_items = group_rows(queries["user_idx"], *read_pairs(d / "seen.parquet"))
    else:
        s_rows, s_items = np.zeros(0, np.int64), np.zeros(0, np.int64)
    return Split(queries, t_rows, t_items, s_rows, s_items)


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
    list was made) and the model's time prior, as of the split's start, is added to every score.
    """
    item_vec = embed(model, items, tower="item", device=device)
    user_vec = embed(model, split.queries, tower="user", device=device)
    bias = as_of.bias(model) if as_of is not None else None
    if bias is None:
        bias = np.zeros(len(item_vec), dtype=np.float32)
    topk = topk_excluding(
        lambda rows: user_vec[rows] @ item_vec.T + bias[None, :],
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

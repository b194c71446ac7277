"""One evaluation for every model: two-tower against tuned baselines on the time-based holdout.

Baselines are tuned on ``val`` (interactions before the validation period), then refit with the
chosen setting on everything before the test period and scored on ``test``; the two-tower model was
selected on ``val`` by the training loop. Every model ranks the whole catalogue with the items the
user already saw removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from socialflywheel.recsys.baselines import (
    Interactions,
    fit_ials,
    ials_scores,
    most_popular_scores,
    popularity,
    read_interactions,
    score_table,
    tune_ials,
    tune_most_popular,
    user_item_matrix,
)
from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.embed import AsOf, evaluate_two_tower, load_items, load_split
from socialflywheel.recsys.core.metrics import DEFAULT_KS
from socialflywheel.recsys.core.model import TwoTower, load_model


@dataclass
class Evaluation:
    """The comparison table and how each baseline was tuned."""

    table: pd.DataFrame
    """Columns: model, split, k, recall, recall_capped (hits / min(k, |T|)), ndcg, coverage, pop_percentile, gini,
    users."""
    tuned: dict[str, dict[str, Any]] = field(default_factory=dict)
    trials: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def metric(self, model: str, name: str = "recall", k: int = 50, split: str = "test") -> float:
        """One number out of the table, e.g. ``metric("two_tower", "recall", 50)``."""
        t = self.table
        row = t[(t.model == model) & (t.split == split) & (t.k == k)]
        return float(row[name].iloc[0])


def _rows(model: str, split: str, table: list[dict[str, float]]) -> list[dict[str, Any]]:
    return [{"model": model, "split": split, **r, "k": int(r["k"])} for r in table]


def split_starts(meta: DatasetMeta, train: Interactions) -> tuple[int, int]:
    """The validation and test periods' first seconds (recorded by prepare; else right after the training data)."""
    val_start = int(meta.extra.get("val_start_ts", int(train.ts.max()) + 1))  # type: ignore[call-overload]
    return val_start, int(meta.extra.get("test_start_ts", val_start))  # type: ignore[call-overload]


def _val_positives(root: Path, val_start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    vt = pq.read_table(root / "val" / "targets.parquet")
    vts = vt.column("ts").to_numpy() if "ts" in vt.column_names else np.full(vt.num_rows, val_start)
    return vt.column("user_idx").to_numpy(), np.asarray(vt.column("item_idx").to_numpy(), np.int64), vts


def split_as_of(root: Path, meta: DatasetMeta, name: str, train: Interactions) -> AsOf | None:
    """What the catalogue was at split ``name``'s start (time splits; None for per-user ones)."""
    if meta.extra.get("split_by", "time") != "time":
        return None
    val_start, test_start = split_starts(meta, train)
    if name == "val":
        return AsOf.build(root, meta, at=val_start)
    _, vi, vts = _val_positives(root, val_start)
    return AsOf.build(root, meta, at=test_start, extra=(vi, np.asarray(vts, np.int64)))


def evaluate_split(
    model: TwoTower, data_root: str | Path, name: str, *, ks: Sequence[int] = DEFAULT_KS
) -> list[dict[str, float]]:
    """The two-tower's rows of :func:`evaluate_all` for one split, without the baselines.

    ``test`` wants the root made by :func:`~socialflywheel.recsys.train_job.test_view` (the catalogue as of the
    test start) where prepare wrote one.
    """
    root = Path(data_root)
    meta = DatasetMeta.load(root)
    as_of = split_as_of(root, meta, name, read_interactions(root / "train"))
    items = load_items(root / "items.parquet", meta)
    return evaluate_two_tower(model, split=load_split(root / name, meta), items=items, meta=meta, ks=ks, as_of=as_of)


def evaluate_all(
    *,
    data_root: str | Path,
    model: TwoTower | str | Path,
    splits: Sequence[str] = ("val", "test"),
    ials_grid: dict[str, Sequence[float]] | None = None,
    seed: int = 0,
    num_threads: int = 0,
    ks: Sequence[int] = DEFAULT_KS,
) -> Evaluation:
    """Score two-tower, most-popular and iALS on the prepared dataset's holdout splits.

    Args:
        data_root: Prepared dataset (``meta.json``, ``train/``, ``items.parquet``, ``val/``, ``test/``).
        model: A trained model or the path of its ``model.pt``.
        splits: Which splits get rows in the table (tuning always uses ``val``).
        ials_grid: iALS grid (see :func:`~socialflywheel.recsys.baselines.tune_ials`).
        seed: iALS seed.
        num_threads: implicit's threads (0: all cores).
        ks: Cut-offs.

    Returns:
        An :class:`Evaluation`.
    """
    root = Path(data_root)
    meta = DatasetMeta.load(root)
    net = model if isinstance(model, TwoTower) else load_model(model)
    items = load_items(root / "items.parquet", meta)
    counts = np.asarray(meta.item_counts, dtype=np.float64)
    n = meta.num_items
    train = read_interactions(root / "train")
    val = load_split(root / "val", meta)
    val_start, test_start = split_starts(meta, train)
    pop_params, pop_trials = tune_most_popular(train, split=val, split_start=val_start, num_items=n, item_counts=counts)
    train_matrix = user_item_matrix(train, num_users=meta.num_users, num_items=n)
    als_params, als_trials = tune_ials(
        train_matrix, split=val, num_items=n, item_counts=counts, grid=ials_grid, seed=seed, num_threads=num_threads
    )
    rows: list[dict[str, Any]] = []
    for name in splits:
        split = val if name == "val" else load_split(root / name, meta)
        history: Interactions = train
        start = val_start
        if name != "val":  # refit baselines on everything before this split (train + val period)
            vu, vi, vts = _val_positives(root, val_start)
            history = train.concat(vu, vi, vts)
            start = test_start
        as_of = split_as_of(root, meta, name, train)
        pop = popularity(history, num_items=n, now=start, window_days=pop_params["window_days"])
        rows += _rows(
            "most_popular",
            name,
            score_table(most_popular_scores(pop), split=split, num_items=n, item_counts=counts, ks=ks),
        )
        als = fit_ials(
            user_item_matrix(history, num_users=meta.num_users, num_items=n),
            **als_params,
            seed=seed,
            num_threads=num_threads,
        )
        rows += _rows(
            "ials",
            name,
            score_table(ials_scores(als, split.users), split=split, num_items=n, item_counts=counts, ks=ks),
        )
        rows += _rows(
            "two_tower", name, evaluate_two_tower(net, split=split, items=items, meta=meta, ks=ks, as_of=as_of)
        )
    return Evaluation(
        table=pd.DataFrame(rows),
        tuned={"most_popular": pop_params, "ials": als_params},
        trials={"most_popular": pop_trials, "ials": als_trials},
    )

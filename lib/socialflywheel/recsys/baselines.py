"""Baselines for the same evaluation: most-popular (recency window) and iALS from ``implicit``.

Each baseline's hyper-parameters are chosen on the validation split only; the chosen setting is
then refit on everything before the test period and scored on test, like the two-tower model.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow.parquet as pq
import scipy.sparse as sp

from socialflywheel.recsys.core.data import scan_row_groups
from socialflywheel.recsys.core.embed import Split

if TYPE_CHECKING:
    from implicit.cpu.als import AlternatingLeastSquares
from socialflywheel.recsys.core.metrics import (
    DEFAULT_KS,
    ScoreFn,
    SharedScores,
    metric_dict,
    ranking_metrics,
    topk_excluding,
)

DAY = 86_400
SELECT_METRIC = "recall@50"


@dataclass
class Interactions:
    """Training interactions as flat arrays (two int columns and a timestamp, not the examples)."""

    users: np.ndarray
    items: np.ndarray
    ts: np.ndarray

    def before(self, cutoff: int) -> Interactions:
        """The interactions strictly before ``cutoff`` (seconds)."""
        keep = self.ts < cutoff
        return Interactions(self.users[keep], self.items[keep], self.ts[keep])

    def concat(self, users: np.ndarray, items: np.ndarray, ts: np.ndarray) -> Interactions:
        """These interactions plus more (e.g. the validation period before a test refit)."""
        return Interactions(
            np.concatenate([self.users, users]), np.concatenate([self.items, items]), np.concatenate([self.ts, ts])
        )


def read_interactions(shards_dir: str | Path) -> Interactions:
    """Stream ``user_idx, item_idx, ts`` out of the training shards, one row group at a time."""
    users, items, ts = [], [], []
    for ref in scan_row_groups(shards_dir):
        t = pq.ParquetFile(ref.path).read_row_group(ref.index, columns=["user_idx", "item_idx", "ts"])
        users.append(t.column("user_idx").to_numpy())
        items.append(t.column("item_idx").to_numpy())
        ts.append(t.column("ts").to_numpy())
    return Interactions(
        np.concatenate(users).astype(np.int64),
        np.concatenate(items).astype(np.int64),
        np.concatenate(ts).astype(np.int64),
    )


def user_item_matrix(data: Interactions, *, num_users: int, num_items: int) -> sp.csr_matrix:
    """Binary-count CSR matrix ``users x items`` (duplicates summed)."""
    ones = np.ones(len(data.users), dtype=np.float32)
    return sp.csr_matrix((ones, (data.users, data.items)), shape=(num_users, num_items))


def score_table(
    score_fn: ScoreFn, *, split: Split, num_items: int, item_counts: np.ndarray, ks: Sequence[int] = DEFAULT_KS
) -> list[dict[str, float]]:
    """Rank every item for every query user of ``split`` (seen items excluded) and score the lists."""
    topk = topk_excluding(
        score_fn, num_rows=len(split.users), k=max(ks), seen_rows=split.seen_rows, seen_items=split.seen_items
    )
    return ranking_metrics(
        topk,
        target_rows=split.target_rows,
        target_items=split.target_items,
        num_items=num_items,
        item_counts=item_counts,
        ks=ks,
    )


def popularity(data: Interactions, *, num_items: int, now: int, window_days: float | None) -> np.ndarray:
    """Interaction counts per item over the last ``window_days`` before ``now`` (all time if None)."""
    keep = data.ts < now
    if window_days is not None:
        keep &= data.ts >= now - int(window_days * DAY)
    # A tiny all-time term breaks ties between items unseen in the window.
    return np.bincount(data.items[keep], minlength=num_items) + 1e-6 * np.bincount(data.items, minlength=num_items)


def most_popular_scores(counts: np.ndarray) -> ScoreFn:
    """The same popularity ranking for every user (ranked once, then walked per user past what they saw)."""
    return SharedScores(counts)


def tune_most_popular(
    data: Interactions,
    *,
    split: Split,
    split_start: int,
    num_items: int,
    item_counts: np.ndarray,
    windows: Sequence[float | None] = (None, 14, 7, 3, 1),
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Pick the popularity window with the best validation recall@50.

    Returns:
        ``(best_params, trials)``, each trial ``{"window_days", "recall@50", ...}``.
    """
    trials: list[dict[str, Any]] = []
    for w in windows:
        counts = popularity(data, num_items=num_items, now=split_start, window_days=w)
        table = score_table(most_popular_scores(counts), split=split, num_items=num_items, item_counts=item_counts)
        trials.append({"window_days": w, **metric_dict(table)})
    best = max(trials, key=lambda r: r[SELECT_METRIC])
    return {"window_days": best["window_days"]}, trials


def fit_ials(
    matrix: sp.csr_matrix,
    *,
    factors: int,
    regularization: float,
    alpha: float,
    iterations: int = 15,
    seed: int = 0,
    num_threads: int = 0,
) -> AlternatingLeastSquares:
    """Fit ``implicit``'s CPU iALS on a ``users x items`` matrix."""
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    # implicit parallelizes itself and checks BLAS threads when built; nested BLAS threads only contend
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(
            factors=factors,
            regularization=regularization,
            alpha=alpha,
            iterations=iterations,
            random_state=seed,
            num_threads=num_threads,
            calculate_training_loss=False,
        )
        model.fit(matrix, show_progress=False)
    return model


def ials_scores(model: AlternatingLeastSquares, users: np.ndarray) -> ScoreFn:
    """Dot products of the query users' iALS factors with every item's."""
    uf, itf = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return lambda rows: uf[users[rows]] @ itf.T


def tune_ials(
    matrix: sp.csr_matrix,
    *,
    split: Split,
    num_items: int,
    item_counts: np.ndarray,
    grid: dict[str, Sequence[float]] | None = None,
    seed: int = 0,
    num_threads: int = 0,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Grid-search iALS (factors x regularization x alpha) on the validation split.

    Args:
        matrix: Interactions before the validation period.
        split: The validation split.
        num_items: Catalogue size.
        item_counts: Popularity for the bias metrics.
        grid: ``{"factors": [...], "regularization": [...], "alpha": [...]}``.
        seed: iALS seed.
        num_threads: implicit's threads (0: all cores).

    Returns:
        ``(best_params, trials)``.
    """
    grid = grid or {"factors": [32, 64], "regularization": [0.01, 0.1], "alpha": [1.0, 10.0]}
    trials: list[dict[str, Any]] = []
    for f, reg, alpha in itertools.product(grid["factors"], grid["regularization"], grid["alpha"]):
        params: dict[str, Any] = {"factors": int(f), "regularization": float(reg), "alpha": float(alpha)}
        model = fit_ials(matrix, **params, seed=seed, num_threads=num_threads)
        table = score_table(ials_scores(model, split.users), split=split, num_items=num_items, item_counts=item_counts)
        trials.append({**params, **metric_dict(table)})
    best = max(trials, key=lambda r: r[SELECT_METRIC])
    return {k: best[k] for k in ("factors", "regularization", "alpha")}, trials

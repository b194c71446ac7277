"""Baselines are tuned on the validation period, never on test."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from socialflywheel.recsys.baselines import read_interactions, tune_ials, tune_most_popular, user_item_matrix
from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.embed import load_split


def test_tuning_uses_validation_and_reads_only_the_training_period(planted: tuple[Path, DatasetMeta]) -> None:
    root, meta = planted
    train = read_interactions(root / "train")
    val_start = int(meta.extra["val_start_ts"])  # type: ignore[call-overload]
    assert len(train.users) == meta.train_rows and train.ts.max() < val_start
    val = load_split(root / "val", meta)
    counts = np.asarray(meta.item_counts)
    pop, pop_trials = tune_most_popular(
        train, split=val, split_start=val_start, num_items=meta.num_items, item_counts=counts
    )
    assert pop["window_days"] == max(pop_trials, key=lambda r: r["recall@50"])["window_days"]
    matrix = user_item_matrix(train, num_users=meta.num_users, num_items=meta.num_items)
    als, trials = tune_ials(
        matrix,
        split=val,
        num_items=meta.num_items,
        item_counts=counts,
        grid={"factors": [8, 16], "regularization": [0.1], "alpha": [5.0]},
        num_threads=1,
    )
    assert len(trials) == 2 and als["factors"] == max(trials, key=lambda r: r["recall@50"])["factors"]
    assert max(t["recall@50"] for t in trials) > max(t["recall@50"] for t in pop_trials)  # iALS learns the topics

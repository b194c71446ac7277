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


def _poison(root: Path, split: str, seed: int) -> None:
    """Replace a split's target items with random ones (its queries stay): a different answer key."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = root / split / "targets.parquet"
    table = pq.read_table(path)
    rng = np.random.default_rng(seed)
    items = rng.integers(0, int(table.column("item_idx").to_numpy().max()) + 1, table.num_rows)
    column = pa.array(items, type=table.schema.field("item_idx").type)
    pq.write_table(table.set_column(table.schema.get_field_index("item_idx"), "item_idx", column), path)


def test_tuning_does_not_change_when_the_test_answers_do(planted: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    """The outcome, not the bookkeeping: poisoning the test split's answers leaves every tuning trial and choice
    unchanged (while the test scores move, so test is read for scoring), and poisoning validation changes the
    trials (so tuning reads validation). Mutation tried: tuning on ``test`` instead of ``val`` fails both checks."""
    import shutil

    from socialflywheel.recsys.core.train_loop import train
    from socialflywheel.recsys.evaluate import evaluate_all

    root, meta = planted
    model = train(
        shards_dir=root / "train", meta=meta, out_dir=tmp_path / "model", epochs=1, batch_size=256, num_threads=1
    ).model_path
    grid = {"factors": [8, 16], "regularization": [0.1], "alpha": [5.0]}
    runs = {}
    for name, poisoned in (("clean", None), ("test", "test"), ("val", "val")):
        copy = tmp_path / name
        shutil.copytree(root, copy)
        if poisoned:
            _poison(copy, poisoned, seed=11)
        runs[name] = evaluate_all(data_root=copy, model=model, splits=("test",), ials_grid=grid, num_threads=1)
    clean, test_poisoned, val_poisoned = runs["clean"], runs["test"], runs["val"]
    assert test_poisoned.tuned == clean.tuned and test_poisoned.trials == clean.trials
    assert not test_poisoned.table.recall.equals(clean.table.recall)
    assert val_poisoned.trials != clean.trials

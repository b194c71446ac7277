"""Two-tower training on the planted dataset: it learns, and a killed run resumes exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.embed import make_val_fn
from socialflywheel.recsys.core.model import load_model
from socialflywheel.recsys.core.train_loop import TrainingInterrupted, train
from socialflywheel.recsys.evaluate import evaluate_all


def _kwargs(root: Path, meta: DatasetMeta) -> dict[str, object]:
    return {
        "shards_dir": root / "train",
        "meta": meta,
        "batch_size": 256,
        "embedding_dim": 32,
        "hidden_dim": 64,
        "num_threads": 1,
        "val_fn": make_val_fn(root, meta),
        "seed": 7,
    }


def test_two_tower_beats_most_popular_on_the_test_period(planted: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    root, meta = planted
    result = train(out_dir=tmp_path / "run", epochs=3, **_kwargs(root, meta))  # type: ignore[arg-type]
    assert result.best_metric == max(h["recall@50"] for h in result.history)
    ev = evaluate_all(
        data_root=root,
        model=result.model_path,
        ials_grid={"factors": [16], "regularization": [0.1], "alpha": [1.0, 10.0]},
        num_threads=1,
    )
    two_tower, popular = ev.metric("two_tower"), ev.metric("most_popular")
    assert two_tower >= popular + 0.1, ev.table
    assert ev.metric("two_tower", "ndcg", 10) > ev.metric("most_popular", "ndcg", 10)
    assert ev.metric("two_tower", "coverage", 50) > ev.metric("most_popular", "coverage", 50)
    assert set(ev.table.model) == {"two_tower", "most_popular", "ials"} and set(ev.table.k) == {10, 50, 100}
    # model.pt is the best epoch's weights, and it reproduces the validation recall it was chosen on
    model = load_model(result.model_path)
    from socialflywheel.recsys.core.embed import make_val_fn

    val = make_val_fn(root, meta)(model)  # the same protocol (corpus as of the validation start) as in training
    assert val["recall@50"] == pytest.approx(result.best_metric, abs=1e-6)


def test_killed_mid_epoch_and_resumed_matches_an_uninterrupted_run(
    planted: tuple[Path, DatasetMeta], tmp_path: Path
) -> None:
    root, meta = planted
    kw = {
        **_kwargs(root, meta),
        "epochs": 2,
        "checkpoint_every_steps": 25,
        "random_negatives": 32,
        "items_path": root / "items.parquet",
    }
    whole = train(out_dir=tmp_path / "whole", **kw)  # type: ignore[arg-type]
    steps_per_epoch = whole.global_steps // 2
    with pytest.raises(TrainingInterrupted):
        train(out_dir=tmp_path / "killed", stop_after_steps=steps_per_epoch + 40, **kw)  # type: ignore[arg-type]
    assert (tmp_path / "killed" / "checkpoint.pt").exists()
    resumed = train(out_dir=tmp_path / "killed", **kw)  # type: ignore[arg-type]
    assert resumed.global_steps == whole.global_steps
    assert resumed.history == whole.history  # every per-epoch metric, bit for bit
    assert resumed.best_metric == whole.best_metric


def test_a_checkpoint_by_time_resumes_exactly(planted: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    """train.checkpoint_every_s: checkpoints at whatever step the clock says, and a resume from one is exact."""
    import torch

    root, meta = planted
    kw = {**_kwargs(root, meta), "epochs": 1, "checkpoint_every_steps": 0, "val_fn": None}
    whole = train(out_dir=tmp_path / "whole", **kw)  # type: ignore[arg-type]
    with pytest.raises(TrainingInterrupted):  # a period shorter than a step: a checkpoint after every step
        train(out_dir=tmp_path / "killed", checkpoint_every_s=1e-9, stop_after_steps=30, **kw)  # type: ignore[arg-type]
    saved = torch.load(tmp_path / "killed" / "checkpoint.pt", weights_only=False)["state"]
    assert saved["global_step"] == 30
    resumed = train(out_dir=tmp_path / "killed", **kw)  # type: ignore[arg-type]
    assert resumed.global_steps == whole.global_steps and resumed.history == whole.history


def test_early_stopping_stops_after_patience_epochs_without_gain(
    planted: tuple[Path, DatasetMeta], tmp_path: Path
) -> None:
    root, meta = planted
    flat = iter([0.5, 0.4, 0.45, 0.9, 0.9])
    kw = {**_kwargs(root, meta), "val_fn": lambda model: {"recall@50": next(flat)}}
    result = train(out_dir=tmp_path / "es", epochs=5, patience=2, **kw)  # type: ignore[arg-type]
    assert result.epochs_run == 3 and result.stopped_early and result.best_epoch == 0


def test_warm_start_continues_from_the_given_model(planted: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    """init_model starts from trained weights: at a negligible lr the model is the one it started from."""
    import torch

    root, meta = planted
    first = train(out_dir=tmp_path / "first", epochs=2, **_kwargs(root, meta))  # type: ignore[arg-type]
    cold = train(out_dir=tmp_path / "cold", epochs=1, lr=1e-9, **_kwargs(root, meta))  # type: ignore[arg-type]
    warm = train(out_dir=tmp_path / "warm", epochs=1, lr=1e-9, init_model=first.model_path, **_kwargs(root, meta))  # type: ignore[arg-type]
    assert cold.best_metric < first.best_metric - 0.05
    assert warm.best_metric == pytest.approx(first.best_metric, abs=0.005)
    a, b = load_model(first.model_path).state_dict(), load_model(warm.model_path).state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)
    with pytest.raises(ValueError, match="does not match"):
        train(
            out_dir=tmp_path / "bad",
            epochs=1,
            init_model=first.model_path,
            **{**_kwargs(root, meta), "embedding_dim": 16},
        )  # type: ignore[arg-type]

"""``flywheel train``: prepare shards, train the two-tower model, evaluate it against baselines, register it.

Everything happens inside one MLflow run (:func:`socialflywheel.tracking.tracked_run`): the config,
the commit, the Delta versions read, the dataset's sizes and split starts, per-epoch training and
validation metrics, the refit's loss (the model selected on val, warm-started for
``train.refit_epochs`` over train + val positives, as the baselines are refit before the test), the
evaluation table (two-tower vs most-popular vs iALS, tuned on val, scored on test, K = 10/50/100) as
CSV/JSON, a recall@K bar chart, and the registered pyfunc model (the refit weights). With
``train.nproc > 1`` the loop runs in local processes spawned by ``torch.distributed.elastic`` (never a fork
of this process, which holds the Sail session); ``train.launcher: distributor`` uses Spark's
TorchDistributor on classic clusters (see :mod:`socialflywheel.recsys.launch`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from socialflywheel.lake.storage import join, remove_tree
from socialflywheel.recsys.cadence import TrainSkipped, training_due
from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.results import JobResult, Scalar

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config.recsys import TrainConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.recsys.evaluate import Evaluation
    from socialflywheel.tracking import Tracking

log = logging.getLogger(__name__)

PROMOTE_METRIC = ("two_tower", "recall", 50)


def _threads(tc: TrainConfig) -> int:
    return tc.num_threads or max(1, (os.cpu_count() or 1) // tc.nproc)


def _train_kwargs(tc: TrainConfig, data: Path, out: Path) -> dict[str, Any]:
    return {
        "shards_dir": str(data / "train"),
        "meta": str(data / "meta.json"),
        "out_dir": str(out),
        "epochs": tc.epochs,
        "batch_size": tc.batch_size,
        "lr": tc.lr,
        "embedding_dim": tc.embedding_dim,
        "hidden_dim": tc.hidden_dim,
        "temperature": tc.temperature,
        "random_negatives": tc.random_negatives,
        "items_path": str(data / "items.parquet"),
        "patience": tc.patience,
        "seed": tc.seed,
        "device": tc.device,
        "amp": tc.amp,
        "checkpoint_every_steps": tc.checkpoint_every_steps,
        "checkpoint_every_s": tc.checkpoint_every_s,
        "shuffle_buffer": tc.shuffle_buffer,
        "num_threads": _threads(tc),
        "time_prior": tc.time_prior,
        "id_dropout": tc.id_dropout,
        "sparse_ids": tc.sparse_ids,
        "examples_per_epoch": tc.examples_per_epoch,
    }


def _refit_kwargs(tc: TrainConfig, data: Path, out: Path, selected: str) -> dict[str, Any]:
    """The refit: the selected model, warm-started, trained ``refit_epochs`` more over train + val."""
    return {
        **_train_kwargs(tc, data, out),
        "shards_dir": str(data / "refit" / "train"),
        "meta": str(data / "refit" / "meta.json"),
        "items_path": str(data / "test" / "items.parquet"),
        "epochs": tc.refit_epochs,
        "patience": 0,
        "init_model": selected,
    }


def _shared_run_dir(tc: TrainConfig, run_dir: Path) -> str | None:
    """Where a TorchDistributor run ships its shards and models (``train.shared_dir/<run>``), if anywhere."""
    if tc.launcher != "distributor" or tc.shared_dir is None:
        return None
    return join(tc.shared_dir, run_dir.name)


def _train(
    tc: TrainConfig, data: Path, out: Path, mlflow: ModuleType, *, refit_from: str | None = None
) -> dict[str, Any]:
    """Run the training loop with the configured launcher (:func:`socialflywheel.recsys.launch.launch`).

    With ``refit_from`` (the model selected on validation) it runs the refit instead: no validation,
    per-epoch training loss logged as ``refit.train_loss``.
    """
    from socialflywheel.recsys.launch import launch

    validate = refit_from is None
    kwargs = _train_kwargs(tc, data, out) if validate else _refit_kwargs(tc, data, out, str(refit_from))
    prefix = "epoch" if validate else "refit"

    def log_epoch(epoch: int, record: dict[str, float]) -> None:
        metrics = {f"{prefix}.{k.replace('@', '_at_')}": float(v) for k, v in record.items() if k != "epoch"}
        mlflow.log_metrics(metrics, step=epoch)

    def start_distributor() -> dict[str, Any]:
        from socialflywheel.recsys.distributor import train_with_distributor

        return train_with_distributor(
            num_processes=tc.nproc,
            use_gpu=tc.device == "cuda",
            train_kwargs=kwargs,
            validate=validate,
            shared_dir=_shared_run_dir(tc, out.parent),
            inputs=(data,) if validate else (data, Path(str(refit_from)).parent),
        )

    return launch(
        kwargs,
        launcher=tc.launcher,
        nproc=tc.nproc,
        validate=validate,
        log_fn=log_epoch,
        distributor=start_distributor,
    )


def test_view(data: Path) -> Path:
    """A prepared root for scoring the test split: the same files, with the catalogue as of the test start.

    ``evaluate_all`` reads ``items.parquet`` for the two-tower model; the main one holds item
    features as of the validation start, which would score the test split on stale features.
    """
    view = data / "eval_test"
    view.mkdir(exist_ok=True)
    shutil.copyfile(data / "meta.json", view / "meta.json")
    for name, target in (("train", "train"), ("val", "val"), ("test", "test"), ("items.parquet", "test/items.parquet")):
        link = view / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(data / target)
    return view


def _log_evaluation(mlflow: ModuleType, evaluation: Evaluation, run_dir: Path) -> None:
    """Metrics per (split, model, K), the table as CSV and JSON, the tuned baselines and a recall@K chart."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = evaluation.table
    metrics = {}
    for row in table.to_dict("records"):
        for name in ("recall", "recall_capped", "ndcg", "coverage", "pop_percentile", "gini"):
            metrics[f"{row['split']}.{row['model']}.{name}_at_{int(row['k'])}"] = float(row[name])
    mlflow.log_metrics(metrics)
    out = run_dir / "evaluation"
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "evaluation.csv", index=False)
    (out / "evaluation.json").write_text(table.to_json(orient="records", indent=1))
    (out / "baselines.json").write_text(json.dumps({"tuned": evaluation.tuned, "trials": evaluation.trials}, indent=1))
    test = table[table.split == "test"]
    models = list(dict.fromkeys(test.model))
    ks = sorted(set(test.k))
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        vals = [float(test[(test.model == model) & (test.k == k)].recall.iloc[0]) for k in ks]
        ax.bar([j + i * width for j in range(len(ks))], vals, width=width, label=model)
    ax.set_xticks([j + width * (len(models) - 1) / 2 for j in range(len(ks))], [f"Recall@{k}" for k in ks])
    ax.set_ylabel("recall (test)")
    ax.set_title("Two-tower vs baselines on the time-based test split")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "recall_at_k.png", dpi=100)
    plt.close(fig)
    mlflow.log_artifacts(str(out), artifact_path="evaluation")


@dataclass(kw_only=True)
class TrainResult(JobResult):
    """A train run: the registered model, how it compares on the holdout, and how training went."""

    mlflow_run_id: str
    model_name: str
    model_version: str
    promoted: bool
    """Whether the model got the serving alias (it beat the champion on the same holdout)."""
    serving_alias: str
    holdout_recall_at_50: float
    best_baseline_recall_at_50: float
    champion_version: str | None
    champion_recall_at_50: float | None
    same_holdout_as_champion: bool
    promotion_reason: str = ""
    """Why the model did or did not get the serving alias, in one sentence."""
    champion_recall_at_50_rescored: float | None = None
    """The champion re-scored on this run's holdout (when it was scored on another one)."""
    metrics: list[dict[str, Scalar]] = field(default_factory=list)
    """The test metric table: one row per model and metric."""
    tuned_baselines: dict[str, str] = field(default_factory=dict)
    """The hyper-parameters each baseline was tuned to on validation."""
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    examples_per_s: float = 0.0
    examples_seen: int = 0
    """Examples the selection run trained on, over all its epochs (train.examples_per_epoch caps an epoch's)."""
    world_size: int = 1
    device: str = "cpu"
    refit_epochs: int = 0
    refit_rows: int = 0
    """Training rows of the refit on train + validation (0 without a refit)."""
    read_from: list[str] = field(default_factory=list)
    """Where the training processes read their prepared data and models from."""
    data_root: str = ""
    positives: str = ""
    """What the model was trained to score up, in words (which events, how many); ``negatives``: what down."""
    negatives: str = ""


def run_train(
    spark: SparkSession | None,
    lake: Lake,
    tc: TrainConfig,
    *,
    tracking: Tracking,
    work: Path,
    run_name: str | None = None,
    register: bool = True,
) -> TrainResult | TrainSkipped:
    """Prepare, train, evaluate and register the two-tower model in one MLflow run (a dated run: when it is due).

    Args:
        spark: The session (unused: the trainer reads Delta through delta-rs; kept for the job signature).
        lake: The lake holding gold.training_examples and silver.posts.
        tc: The ``train`` section (the model's hyper-parameters, the launcher, the baselines' grids).
        tracking: Where the run and the registered model go (the resolved ``mlflow`` section).
        work: The work folder; prepared shards and checkpoints go under ``<work>/recsys/<run>``.
        run_name: MLflow run name (default ``train-<UTC time>``).
        register: Register the model and decide its promotion (False: an exploration, e.g. from a notebook, that
            is tracked but never registered and never serves).

    Returns:
        The MLflow run id, model name and version, whether it got the serving alias, the test metric table, the
        tuned baselines, training facts, rows in (training examples) and out (1 model); or, for a dated run the
        cadence leaves out (``train.every_days``), why it was skipped.
    """
    from socialflywheel.recsys.evaluate import evaluate_all
    from socialflywheel.recsys.examples_basis import examples_basis
    from socialflywheel.recsys.prepare import prepare_shards
    from socialflywheel.recsys.registry import Registration, log_and_register, promote_if_better, rescore_on_holdout
    from socialflywheel.recsys.splits import check_split_days
    from socialflywheel.tracking import tracked_run

    del spark
    if (skipped := training_due(lake, tc, tracking)) is not None:
        return skipped
    if tc.split_by == "time":  # too few days for the splits: one line naming the keys, before any heavy work
        check_split_days(lake)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    run_dir = work / "recsys" / f"{stamp}-{uuid.uuid4().hex[:6]}"
    data = run_dir / "data"
    meta = prepare_shards(
        lake,
        data,
        history_len=tc.history_len,
        hashtag_len=tc.hashtag_len,
        rows_per_group=tc.shard_rows,
        seed=tc.seed,
        split_by=tc.split_by,
        shard_order=tc.shard_order,
        val_max_users=tc.val_max_users,
    )
    basis = examples_basis(meta, random_negatives=tc.random_negatives)
    log.info("train: %s", basis)
    with tracked_run(tracking, lake, run_name=run_name or f"train-{stamp}", job="train") as run:
        import mlflow

        mlflow.log_params(
            {
                "data.num_users": meta.num_users,
                "data.num_items": meta.num_items,
                "data.train_rows": meta.train_rows,
                "data.val_start_ts": meta.extra["val_start_ts"],
                "data.test_start_ts": meta.extra["test_start_ts"],
                "data.user_feature_dim": meta.user_feature_dim,
                "data.item_feature_dim": meta.item_feature_dim,
                "data.positives": basis.positives,
                "data.negatives": basis.negatives,
            }
        )
        mlflow.log_dict(meta.extra, "data/meta_extra.json")
        shared = _shared_run_dir(tc, run_dir)
        try:
            result = _train(tc, data, run_dir / "model", mlflow)
            model_path = result["model_path"]
            read_from = set(result.get("read_from", [str(data)]))
            refit_rows = 0
            if tc.refit_epochs > 0:  # the selected model, refit on train + val as the baselines are
                refit = _train(tc, data, run_dir / "refit", mlflow, refit_from=model_path)
                model_path, refit_rows = refit["model_path"], DatasetMeta.load(data / "refit").train_rows
                read_from |= set(refit.get("read_from", []))
        finally:
            if shared is not None:  # scratch copies of derived data do not outlive the run (erasure, cost)
                remove_tree(shared)
        mlflow.log_metrics(
            {
                "train.examples_per_s": float(result["examples_per_s"]),
                "train.examples_seen": int(result["examples_seen"]),
                "train.best_epoch": result["best_epoch"],
            }
        )
        grid: dict[str, Sequence[float]] = {
            "factors": tc.ials_factors,
            "regularization": tc.ials_regularization,
            "alpha": tc.ials_alpha,
        }
        evaluation = evaluate_all(
            data_root=test_view(data),
            model=model_path,
            splits=("test",),
            ials_grid=grid,
            seed=tc.seed,
            num_threads=_threads(tc),
        )
        _log_evaluation(mlflow, evaluation, run_dir)
        score = evaluation.metric(*PROMOTE_METRIC[:2], k=PROMOTE_METRIC[2])
        best_baseline = max(evaluation.metric(m, "recall", 50) for m in ("most_popular", "ials"))
        mlflow.log_metrics({"holdout_recall_at_50": score, "holdout_gain_over_best_baseline": score - best_baseline})
        if register:
            name, version = log_and_register(tracking, run_dir=run_dir, score=score, model_path=model_path)
            reg = promote_if_better(
                tracking,
                version=version,
                best_baseline=best_baseline,
                margin=tc.promotion_margin,
                rescore=lambda v: rescore_on_holdout(tracking, v, data),
            )
        else:  # an exploration (a notebook): tracked, never registered, never serving
            name, version = tracking.registered_model, ""
            reg = Registration(name, "", False, score, None, None, True, "not registered (register=False)")
        mlflow.set_tags(
            {
                "model_version": version,
                "promoted": str(reg.promoted),
                "promotion.reason": reg.reason,
                "train.launcher": tc.launcher if tc.launcher == "distributor" or tc.nproc > 1 else "in-process",
                "train.world_size": str(result["world_size"]),
                "train.read_from": ",".join(sorted(read_from)),
            }
        )
        run_id = run.info.run_id
    test = evaluation.table[evaluation.table.split == "test"].drop(columns=["split"])
    log.info("train: run %s, %s v%s, promoted=%s\n%s", run_id, name, version, reg.promoted, test.to_string(index=False))
    return TrainResult(
        mlflow_run_id=run_id,
        model_name=name,
        model_version=str(version),
        promoted=reg.promoted,
        serving_alias=tracking.serving_alias,
        holdout_recall_at_50=float(score),
        best_baseline_recall_at_50=float(best_baseline),
        champion_version=reg.champion_version,
        champion_recall_at_50=reg.champion_score,
        same_holdout_as_champion=reg.same_holdout,
        promotion_reason=reg.reason,
        champion_recall_at_50_rescored=reg.champion_rescored,
        metrics=[{str(k): v for k, v in row.items()} for row in test.to_dict("records")],
        tuned_baselines={m: str(params) for m, params in evaluation.tuned.items()},
        best_epoch=int(result["best_epoch"]),
        epochs_run=int(result["epochs_run"]),
        stopped_early=bool(result["stopped_early"]),
        examples_per_s=float(result["examples_per_s"]),
        examples_seen=int(result["examples_seen"]),
        world_size=int(result["world_size"]),
        device=str(result["device"]),
        refit_epochs=tc.refit_epochs,
        refit_rows=refit_rows,
        read_from=sorted(read_from),
        data_root=str(data),
        positives=basis.positives,
        negatives=basis.negatives,
        versions_read=dict(lake.versions_read),
        rows_in=meta.train_rows,
        rows_out=1,
    )

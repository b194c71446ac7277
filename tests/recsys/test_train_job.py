"""run_train end to end on the tiny simulation: an MLflow run with params, metrics, artifacts and the
Delta versions, a registered model, and the serving alias only for a version that beats its holder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME
from socialflywheel.recsys.train_job import TrainResult
from socialflywheel.tracking import Tracking
from tests.conftest import make_config
from tests.jobs import TRAIN_TINY, train
from tests.recsys.examples_fixture import recsys_lake

torch.set_num_threads(1)

SMALL = TRAIN_TINY
WEAK = ("train.epochs=1", "train.lr=1e-7")
GOOD = ("train.epochs=6", "train.lr=0.01")
NO_BASELINE_GUARD = ("train.promotion_margin=-1",)


def small_config(work: Path, lake: Lake, *extra: str) -> FlywheelConfig:
    """A private work dir (MLflow store, run folders) over the shared recsys lake."""
    return make_config(work, f"lake.root={lake.root}", *SMALL, *extra)


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, tiny_lake: tuple[FlywheelConfig, Lake], spark: object
) -> dict[str, Any]:

    _, lake = recsys_lake(tmp_path_factory.getbasetemp() / "recsys_tiny", tiny_lake[0], spark)
    work = tmp_path_factory.mktemp("train_job")
    out: dict[str, Any] = {"work": work}
    for name, extra in (("weak", WEAK), ("good", GOOD), ("weak_again", WEAK)):
        cfg = small_config(work, lake, *extra, *NO_BASELINE_GUARD)
        out[name] = train(None, cfg, run_name=name)
    out["cfg"] = small_config(work, lake)
    out["lake"] = lake
    return out


def test_run_logs_params_metrics_artifacts_and_versions(runs: dict[str, Any]) -> None:
    import mlflow

    cfg = runs["cfg"]
    mlflow.set_tracking_uri(cfg.tracking_uri)
    good = runs["good"]
    run = mlflow.get_run(good.mlflow_run_id)
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert params["cfg.train.lr"] == "0.01" and int(params["data.train_rows"]) == good.rows_in > 500
    # the version the run read: the features job writes the table in date chunks, one commit each
    read = str(runs["lake"].version(TRAINING_EXAMPLES_NAME))
    assert params[f"delta_version.{TRAINING_EXAMPLES_NAME}"] == read and "delta_version.silver.posts" in params
    assert tags["job"] == "train" and tags["git_commit"] and tags["model_version"] == good.model_version
    for model in ("two_tower", "most_popular", "ials"):
        for k in (10, 50, 100):
            assert 0.0 <= metrics[f"test.{model}.recall_at_{k}"] <= 1.0
            assert f"test.{model}.ndcg_at_{k}" in metrics and f"test.{model}.coverage_at_{k}" in metrics
    history = mlflow.MlflowClient().get_metric_history(good.mlflow_run_id, "epoch.train_loss")
    assert [m.step for m in history] == list(range(6))
    assert len(mlflow.MlflowClient().get_metric_history(good.mlflow_run_id, "epoch.recall_at_50")) == 6
    files = {f.path for f in mlflow.MlflowClient().list_artifacts(good.mlflow_run_id, "evaluation")}
    assert {"evaluation/evaluation.csv", "evaluation/evaluation.json", "evaluation/recall_at_k.png"} <= files
    assert len(good.metrics) == 9 and good.rows_out == 1
    assert metrics["holdout_recall_at_50"] == pytest.approx(good.holdout_recall_at_50)
    assert [m.step for m in mlflow.MlflowClient().get_metric_history(good.mlflow_run_id, "refit.train_loss")] == [0]
    assert good.refit_rows > good.rows_in


def test_registered_model_is_the_refit_of_the_selected_one(runs: dict[str, Any]) -> None:
    """The evaluated and registered weights are the selected model trained on (and refit to) train + val."""
    import mlflow
    import torch

    from socialflywheel.recsys.registry import download_serving_files

    cfg, good = runs["cfg"], runs["good"]
    mlflow.set_tracking_uri(cfg.tracking_uri)
    run_dir = Path(good.data_root).parent
    files = download_serving_files(Tracking.from_config(cfg), good.model_version, runs["work"] / "download")

    def weights(path: Path) -> dict[str, torch.Tensor]:
        return dict(torch.load(str(path), weights_only=True)["state_dict"])

    served, refit, selected = (
        weights(p) for p in (files["model"], run_dir / "refit" / "model.pt", run_dir / "model" / "model.pt")
    )
    assert all(torch.equal(served[k], refit[k]) for k in served)
    assert not all(torch.equal(refit[k], selected[k]) for k in refit)  # the refit epoch changed the weights
    known = refit["id_known"][1:].sum().item()
    assert known > selected["id_known"][1:].sum().item()  # items first seen in the validation period


def test_serving_alias_moves_only_to_a_better_version(runs: dict[str, Any]) -> None:
    import mlflow

    cfg = runs["cfg"]
    mlflow.set_tracking_uri(cfg.tracking_uri)
    weak, good, again = runs["weak"], runs["good"], runs["weak_again"]
    assert [weak.model_version, good.model_version, again.model_version] == ["1", "2", "3"]
    assert good.holdout_recall_at_50 > weak.holdout_recall_at_50 + 0.02
    # The baseline guard is off in these runs (train.promotion_margin=-1): the champion comparison alone.
    assert weak.promoted and good.promoted and not again.promoted
    assert good.champion_version == "1" and again.champion_version == "2"
    assert again.same_holdout_as_champion and "does not beat champion v2" in again.promotion_reason
    holder = mlflow.MlflowClient().get_model_version_by_alias(cfg.mlflow.registered_model, cfg.mlflow.serving_alias)
    assert str(holder.version) == "2"


def test_registered_pyfunc_recommends_for_known_users(runs: dict[str, Any]) -> None:
    import mlflow
    import pandas as pd
    import pyarrow.parquet as pq

    cfg = runs["cfg"]
    mlflow.set_tracking_uri(cfg.tracking_uri)
    model = mlflow.pyfunc.load_model(f"models:/{cfg.mlflow.registered_model}@{cfg.mlflow.serving_alias}")
    users = pq.read_table(Path(runs["good"].data_root) / "users.parquet").column("user_id").to_pylist()
    out = model.predict(pd.DataFrame({"user_id": [users[0], users[1], "nobody"]}), params={"k": 5})
    assert sorted(set(out.user_id)) == sorted(users[:2]) and list(out["rank"][:5]) == [1, 2, 3, 4, 5]


@pytest.mark.slow
# Measured on one default lake (python bench/bench_recsys_quality.py): two-tower R@50 0.1033 / 0.1071 / 0.1000 for
# seeds 1-3 against most-popular 0.0687 (iALS lower): mean gain 0.035. Training is deterministic (prepare's shards
# depend on the rows and the seed only), so the margin over the 0.02 floor is not eaten by run-to-run noise.
def test_two_tower_beats_the_best_baseline_on_the_default_simulation(
    tmp_path_factory: pytest.TempPathFactory, default_lake: tuple[FlywheelConfig, Lake], spark: object
) -> None:
    """Averaged over 3 seeds, holdout Recall@50 of two-tower >= best tuned baseline + 0.02 (the issue's floor)."""

    _, lake = recsys_lake(tmp_path_factory.getbasetemp() / "recsys_default", default_lake[0], spark)
    work = tmp_path_factory.mktemp("quality")
    gains = []
    for seed in (1, 2, 3):
        cfg = make_config(
            work, f"lake.root={lake.root}", "train.device=cpu", "train.num_threads=1",
            "train.checkpoint_every_steps=0", f"train.seed={seed}",
        )  # fmt: skip
        summary = train(None, cfg, run_name=f"quality-{seed}")
        gains.append(summary.holdout_recall_at_50 - summary.best_baseline_recall_at_50)
    assert min(gains) > 0 and sum(gains) / len(gains) >= 0.02, gains


@pytest.mark.distributed
def test_two_processes_under_torchrun(
    tmp_path_factory: pytest.TempPathFactory, tiny_lake: tuple[FlywheelConfig, Lake], spark: object
) -> None:
    """nproc=2 trains in a torchrun child (exec'd, not forked); per-epoch metrics still reach MLflow."""
    import mlflow

    _, lake = recsys_lake(tmp_path_factory.getbasetemp() / "recsys_tiny", tiny_lake[0], spark)
    cfg = small_config(tmp_path_factory.mktemp("torchrun"), lake, "train.nproc=2", "train.epochs=2")
    summary = train(None, cfg)
    assert summary.world_size == 2 and summary.promotion_reason  # promoted or not, with the reason
    mlflow.set_tracking_uri(cfg.tracking_uri)
    history = mlflow.MlflowClient().get_metric_history(summary.mlflow_run_id, "epoch.recall_at_50")
    assert [m.step for m in history] == [0, 1]


def test_a_champion_of_another_holdout_is_re_scored_on_this_one(runs: dict[str, Any]) -> None:
    """#16 item 4: comparing Recall@50 measured on different holdout windows promoted at random.

    Version 3 (weak) is made to look as if it came from another dataset (its fingerprint tag changed) and to beat
    the baselines (``best_baseline=0``): the decision must then come from re-scoring both versions on one holdout,
    where the weak model loses to the champion (v2). Mutation tried: comparing the recorded scores across the two
    holdouts instead (``same = True``) keeps the decision but loses the re-scored figures asserted here.
    """
    import mlflow

    from socialflywheel.recsys.registry import FINGERPRINT_TAG, RESCORED_TAG, promote_if_better, rescore_on_holdout

    cfg, good = runs["cfg"], runs["good"]
    tracking = Tracking.from_config(cfg)
    mlflow.set_tracking_uri(cfg.tracking_uri)
    client = mlflow.MlflowClient()
    name = cfg.mlflow.registered_model
    old = client.get_model_version(name, "3").tags[FINGERPRINT_TAG]
    client.set_model_version_tag(name, "3", FINGERPRINT_TAG, "another-holdout")
    try:
        reg = promote_if_better(
            tracking, version="3", best_baseline=0.0, rescore=lambda v: rescore_on_holdout(tracking, v, good.data_root)
        )
    finally:
        client.set_model_version_tag(name, "3", FINGERPRINT_TAG, old)
    assert not reg.promoted and not reg.same_holdout and reg.champion_version == "2"
    assert reg.champion_rescored is not None and reg.mine_rescored is not None
    assert reg.champion_rescored > reg.mine_rescored + 0.02
    assert reg.reason.startswith("re-scored on this run's holdout")
    assert client.get_model_version(name, "3").tags["promotion"] == reg.reason
    tags = client.get_model_version(name, "3").tags
    assert float(tags[RESCORED_TAG]) == pytest.approx(reg.champion_rescored, abs=1e-6)  # what the report judges by
    holder = client.get_model_version_by_alias(name, cfg.mlflow.serving_alias)
    assert str(holder.version) == "2"


def test_a_model_that_loses_to_a_baseline_never_serves(runs: dict[str, Any]) -> None:
    """#16 item 4: the first model always took the serving alias, even one that lost to most-popular.

    The good run's version is re-decided as if it were the first model, against a baseline exactly as good as it
    (as tagged, to 6 places; on the tiny lake the tuned iALS in fact scored 0.211 to its 0.197): a tie is not a
    win, so it must not take the alias. Mutation tried: the old rule (first model always promoted) promotes it.
    """
    import mlflow

    from socialflywheel.recsys.registry import promote_if_better

    cfg, good = runs["cfg"], runs["good"]
    mlflow.set_tracking_uri(cfg.tracking_uri)
    client = mlflow.MlflowClient()
    name, alias = cfg.mlflow.registered_model, cfg.mlflow.serving_alias
    client.delete_registered_model_alias(name, alias)  # as if it were the first model
    try:
        reg = promote_if_better(
            Tracking.from_config(cfg), version=good.model_version, best_baseline=round(good.holdout_recall_at_50, 6)
        )
        assert not reg.promoted and reg.champion_version is None
        assert reg.reason.startswith("holdout Recall@50") and "does not beat the best baseline's" in reg.reason
        with pytest.raises(mlflow.exceptions.MlflowException):
            client.get_model_version_by_alias(name, alias)
    finally:
        client.set_registered_model_alias(name, alias, good.model_version)


def test_one_run_id_names_a_training_run_everywhere(runs: dict[str, Any], tmp_path: Path) -> None:
    """#19: one training run had two ids, the run record's (audit.job_runs, the summary) and MLflow's.

    Through the job runner the MLflow run's id is the run's id: the summary, the run record and the MLflow run
    (tagged ``job_run_id``) all carry it. A lake of its own: the run adds its record to the lake's audit table.
    """
    import shutil

    import mlflow

    from socialflywheel.runs import execute_job

    lake_root = tmp_path / "lake"
    shutil.copytree(runs["lake"].root, lake_root)
    cfg = make_config(tmp_path / "work", f"lake.root={lake_root}", *SMALL, *WEAK, *NO_BASELINE_GUARD)
    result = execute_job("train", cfg)
    assert isinstance(result, TrainResult) and len(result.run_id) == 32
    assert result.run_id == result.mlflow_run_id
    records = Lake.from_config(cfg).read_arrow("audit.job_runs").to_pylist()
    assert [(r["job"], r["status"]) for r in records if r["run_id"] == result.run_id] == [("train", "succeeded")]
    mlflow.set_tracking_uri(cfg.tracking_uri)
    assert mlflow.get_run(result.run_id).data.tags["job_run_id"] == result.run_id

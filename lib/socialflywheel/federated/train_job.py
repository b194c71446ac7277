"""The `federated` job's ``task: twotower``: the two-tower trained on people's devices, tracked in MLflow.

Prepares gold.training_examples as ``flywheel train`` does (under ``<work>/_staging``, removed when the run
ends), cuts it into one device per person, trains on Flower's simulation runtime (:mod:`.twotower_apps`), scores
every round's weights on the validation split and the chosen round on test. The MLflow run records the plan
(rounds, sampling rate, local epochs, step size, aggregation, compression), the privacy accounting (mechanism,
epsilon, delta, noise multiplier, clipping norm, sampling rate), per-round validation Recall@50, training loss and
bytes per device, the Delta versions read, and the chosen weights as a ``model.pt`` artifact.
"""

from __future__ import annotations

import math
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from socialflywheel.config.federated import FederatedConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.tracking import Tracking


@dataclass(kw_only=True)
class FederatedTrainResult(JobResult):
    """A federated training run: who took part, what privacy it spent, what crossed the wire, how good it is."""

    task: str
    clients: int
    """Devices (one per person with training examples)."""
    rounds: int
    per_round: int
    """Devices sampled each round."""
    aggregation: str
    dp: str
    epsilon: float
    """User-level epsilon of the run (inf without DP)."""
    delta: float
    noise_multiplier: float
    bytes_per_client_round: float
    client_rounds_per_s: float
    best_round: int
    """The round chosen on validation Recall@50."""
    test_recall_at_50: float
    seconds: float


def run_federated_training(lake: Lake, fc: FederatedConfig, *, tracking: Tracking, work: Path) -> FederatedTrainResult:
    """Prepare, train federatedly, score and track (see the module docstring)."""
    import mlflow

    from socialflywheel.federated.recsys import Plan, run_federated_twotower, score_rounds
    from socialflywheel.federated.twotower import LocalTraining
    from socialflywheel.recsys.core.model import save_model
    from socialflywheel.recsys.prepare import prepare_shards
    from socialflywheel.tracking import tracked_run

    t0 = time.perf_counter()
    tc = fc.train
    root = Path(work) / "_staging" / f"federated-{uuid.uuid4().hex[:12]}"
    local = LocalTraining(lr=tc.lr, epochs=tc.local_epochs, seed=fc.seed)
    plan = Plan(
        rounds=tc.rounds,
        fraction=tc.fraction,
        local=local,
        aggregation=tc.aggregation,
        dp=tc.dp,
        epsilon=fc.epsilon if tc.dp != "none" else math.inf,
        delta=fc.delta,
        clipping_norm=tc.clipping_norm,
        compression=tc.compression,
    )
    with tracked_run(tracking, lake, run_name="federated-twotower", job="federated"):
        try:  # the prepared rows and the devices' files are copies of the lake's: they never outlive the run
            meta = prepare_shards(lake, root / "data", seed=fc.seed)
            summary = run_federated_twotower(root / "data", root / "run", plan, cpus=fc.cpus or None,
                                             timeout_s=fc.timeout_s)  # fmt: skip
            scored = score_rounds(root / "data", root / "run", local)
            save_model(scored["model"], root / "model.pt", extra={"federated": plan.to_json([])})
            mlflow.log_artifact(str(root / "model.pt"))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        priv = summary["privacy"]
        mlflow.log_params(
            {f"federated.{k}": v for k, v in plan.to_json([]).items() if k not in ("local", "malicious")}
            | {f"federated.local.{k}": v for k, v in local.to_config().items()}
            | {f"privacy.{k}": v for k, v in priv.items()}
            | {"federated.clients": summary["clients"], "federated.per_round": summary["sampled_per_round"]}
        )
        for rnd, val in scored["val_curve"]:
            mlflow.log_metric("val_recall_at_50", val, step=rnd)
        for rec in summary["per_round"]:
            mlflow.log_metrics({"train_loss": rec.get("loss", 0.0), "bytes_per_client": rec.get("bytes", 0.0)},
                               step=int(rec["round"]))  # fmt: skip
        mlflow.log_metrics(
            {
                "test_recall_at_50": scored["test_recall_at_50"],
                "best_round": scored["best_round"],
                "client_rounds_per_s": summary["client_rounds_per_s"],
                "bytes_per_client_round": summary["bytes_per_client_round"],
            }
        )
    return FederatedTrainResult(
        rows_in=meta.train_rows,
        rows_out=0,
        task=fc.task,
        clients=summary["clients"],
        rounds=plan.rounds,
        per_round=summary["sampled_per_round"],
        aggregation=plan.aggregation,
        dp=plan.dp,
        epsilon=float(priv["epsilon"]),
        delta=float(priv.get("delta", 0.0)),
        noise_multiplier=float(priv.get("noise_multiplier", 0.0)),
        bytes_per_client_round=summary["bytes_per_client_round"],
        client_rounds_per_s=summary["client_rounds_per_s"],
        best_round=scored["best_round"],
        test_recall_at_50=scored["test_recall_at_50"],
        seconds=time.perf_counter() - t0,
    )

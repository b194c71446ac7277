"""The `federated` job: a federated task over clients cut from the lake, tracked in MLflow, written to gold.

``task: trends`` partitions silver.events' posts into one file per client under ``<work>/_staging`` (removed
when the run ends, so erasure never has a copy to chase), runs :mod:`.trend_apps` on Flower's simulation
runtime, scores the server's estimates with the central trend job's daily scorer and writes the trends found
to gold.federated_trends. The MLflow run records the privacy parameters (epsilon per day, epsilon over the
run's days, cap, clients), bytes per client, throughput and the Delta versions read.
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog.stages import FEDERATED_TRENDS
from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config.federated import FederatedConfig
    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.tracking import Tracking


@dataclass(kw_only=True)
class FederatedResult(JobResult):
    """A federated run: who took part, under which privacy, what crossed the wire and what was found."""

    task: str
    clients: int
    """Clients queried (one per person who posted, or per country)."""
    reports: int
    """Clients whose reply reached the server."""
    failed: int
    """Clients that answered with an error (the others went on)."""
    privacy: str
    epsilon_per_day: float | None
    """local_dp: the epsilon of one daily report (None for secagg)."""
    epsilon_total: float
    """A client's privacy loss over the run's days (local_dp: by basic composition; secagg: the release's)."""
    delta: float
    bytes_per_client: int
    clients_per_s: float
    trends: int
    seconds: float


def run_federated(
    spark: SparkSession, lake: Lake, fc: FederatedConfig, *, features: FeaturesConfig, tracking: Tracking, work: Path
) -> JobResult:
    """Run the configured federated task: trends (the module docstring; found trends go to gold) or twotower."""
    if fc.task == "twotower":
        from socialflywheel.federated.train_job import run_federated_training

        return run_federated_training(lake, fc, tracking=tracking, work=work)
    from pyspark.sql import functions as F

    from socialflywheel.federated.trends import run_federated_trends, trend_frame
    from socialflywheel.tracking import tracked_run

    t0 = time.perf_counter()
    root = Path(work) / "_staging" / f"federated-{uuid.uuid4().hex[:12]}"
    with tracked_run(tracking, lake, run_name=f"federated-{fc.task}", job="federated") as run:
        try:  # the clients' files are copies of silver rows: they never outlive the run
            local = fc.privacy == "local_dp"
            summary = run_federated_trends(
                lake,
                root,
                epsilon=fc.epsilon_per_day if local else fc.epsilon,
                cap=fc.cap,
                seed=fc.seed,
                kind=fc.clients,
                privacy=fc.privacy,
                delta=fc.delta,
                cpus=fc.cpus or None,
                timeout_s=fc.timeout_s,
            )
            days = int(json.loads((root / "query.json").read_text())["days"])
            rows_in = int(json.loads((root / "clients.json").read_text())["rows"])
            sent = int(summary.get("bytes_per_client", 0))
            trends = trend_frame(spark, root, features)
            per_day = fc.epsilon_per_day if local else None
            eps_total = fc.epsilon_per_day * days if local else fc.epsilon
            delta = 0.0 if local else float(summary["delta"])
            out = trends.select(
                F.lit(run.info.run_id).alias("run_id"),
                F.lit(fc.privacy).alias("privacy"),
                F.lit(per_day).cast("double").alias("epsilon_per_day"),
                F.lit(eps_total).alias("epsilon_total"),
                F.lit(delta).alias("delta"),
                F.lit(fc.cap).cast("long").alias("cap"),
                F.lit(summary["clients"]).cast("long").alias("clients"),
                *[c for c in FEDERATED_TRENDS.column_names if c in trends.columns],
            )
            lake.overwrite(out, FEDERATED_TRENDS.name)
        finally:
            shutil.rmtree(root, ignore_errors=True)
        found = lake.read(spark, FEDERATED_TRENDS.name).count()
        rate = summary["clients"] / max(summary["seconds"], 1e-9)
        import mlflow

        mlflow.log_params(
            {
                "federated.task": fc.task,
                "federated.clients": fc.clients,
                "privacy.mechanism": "SetOUE (padding-and-sampling + optimized unary encoding), a report a day"
                if local
                else "SecAgg+ over device shares of Gaussian noise (dp-accounting RDP calibration)",
                "privacy.epsilon_per_day": per_day,
                "privacy.epsilon_total": eps_total,
                "privacy.delta": delta,
                "privacy.noise_sigma": summary.get("sigma", 0.0),
                "privacy.cap": fc.cap,
            }
        )
        mlflow.log_metrics(
            {
                "clients": summary["clients"],
                "reports": summary["reports"],
                "failed": summary["failed"],
                "bytes_per_client": sent,
                "clients_per_s": rate,
                "trends": found,
            }
        )
    return FederatedResult(
        rows_in=rows_in,
        rows_out=found,
        task=fc.task,
        clients=summary["clients"],
        reports=summary["reports"],
        failed=summary["failed"],
        privacy=fc.privacy,
        epsilon_per_day=per_day,
        epsilon_total=eps_total,
        delta=delta,
        bytes_per_client=sent,
        clients_per_s=rate,
        trends=found,
        seconds=time.perf_counter() - t0,
    )

"""The jobs of the pipeline, in data-flow order: an explicit list of typed entries, and the composition root.

A dated run (``run_date`` set, as the Airflow DAGs do) hands the features, graph, train, recommend and report jobs
the lake bounded to that day (``Lake.bounded``) and ingest its date (landing partitions up to it); conform, maintain
and erase always see the whole lake.

Each job's library function takes its own configuration section (``run_graph(spark, lake, cfg.graph)``), plus the
few resolved values it shares with others (the work folder, the tracking settings, k, a seed). This module is the
one place that binds a whole ``FlywheelConfig`` to those arguments: each entry's binder imports the job's library
function when the job runs (so ``flywheel --help`` does not import pyspark, torch or MLflow) and calls it; the
import is code, checked by mypy, not a ``"module:function"`` string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socialflywheel.results import JobResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config import FlywheelConfig
    from socialflywheel.lake.io import Lake

# A bound job: (session, or None for jobs without Spark; config; lake; the CLI's extra arguments) -> its result.
JobFn = Callable[..., JobResult]


@dataclass(frozen=True)
class JobSpec:
    """A job: its command name, the binder of its library function to a configuration, and what it does."""

    name: str
    run: JobFn
    """The job as ``run(spark, cfg, lake, **extra)``: its library function called with its own sections."""
    help: str


def _simulate(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.simulate import run_simulate

    return run_simulate(spark, lake, cfg.simulate, landing=cfg.landing_dir)


def _ingest(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.ingest import run_ingest

    return run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy, until=cfg.run_date)


def _conform(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.ingest import run_conform

    return run_conform(spark, lake, cfg.privacy)


def _features(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.features.job import run_features

    return run_features(spark, lake.bounded(cfg.run_date), cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)


def _graph(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.graph.job import run_graph

    return run_graph(spark, lake.bounded(cfg.run_date), cfg.graph)


def _train(spark: SparkSession | None, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.recsys.train_job import run_train
    from socialflywheel.tracking import Tracking

    return run_train(
        spark, lake.bounded(cfg.run_date), cfg.train, tracking=Tracking.from_config(cfg), work=cfg.work_path
    )


def _recommend(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.recsys.recommend_job import run_recommend
    from socialflywheel.tracking import Tracking

    tracking = Tracking.from_config(cfg)
    return run_recommend(
        spark, lake.bounded(cfg.run_date), cfg.recommend, tracking=tracking, work=cfg.work_path, seed=cfg.seed
    )


def _report(spark: SparkSession | None, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.report.job import report_path, run_report
    from socialflywheel.tracking import Tracking

    return run_report(
        spark,
        lake.bounded(cfg.run_date),
        out=report_path(cfg.report, cfg.work_path),
        tracking=Tracking.from_config(cfg),
        min_group_users=cfg.privacy.min_group_users,
        fairness=cfg.report.fairness,
    )


def _maintain(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.lake.maintain import run_maintain

    return run_maintain(spark, lake, cfg.maintain, retention=cfg.privacy.retention_days)


def _erase(
    spark: SparkSession, cfg: FlywheelConfig, lake: Lake, *, user_ids: list[str], request_id: str | None = None
) -> JobResult:
    from socialflywheel.privacy.erase import run_erase
    from socialflywheel.tracking import Tracking

    tracking = Tracking.from_config(cfg)
    return run_erase(
        spark, lake, cfg.privacy, tracking=tracking, work=cfg.work_path, user_ids=user_ids, request_id=request_id
    )


def _federated(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> JobResult:
    from socialflywheel.federated.job import run_federated
    from socialflywheel.tracking import Tracking

    return run_federated(
        spark,
        lake.bounded(cfg.run_date),
        cfg.federated,
        features=cfg.features,
        tracking=Tracking.from_config(cfg),
        work=cfg.work_path,
    )


JOB_LIST: tuple[JobSpec, ...] = (
    JobSpec("simulate", _simulate, "Simulate a social platform into landing files, with ground truth."),
    JobSpec("ingest", _ingest, "Landing files -> bronze.events (+ quarantine), reconciled per batch."),
    JobSpec("conform", _conform, "bronze -> silver: pseudonymize, deduplicate, users/posts/follows."),
    JobSpec(
        "features",
        _features,
        "silver -> gold features: user/item snapshots, trends, sentiment, campaigns, segments, risk, "
        "point-in-time training examples (incremental by day).",
    ),
    JobSpec(
        "graph",
        _graph,
        "Follow and engagement graphs -> centrality, communities, people-you-may-know (cuGraph or NetworKit).",
    ),
    JobSpec(
        "train",
        _train,
        "Two-tower retrieval (PyTorch DDP) beside most-popular and iALS; MLflow run, registry, serving alias.",
    ),
    JobSpec(
        "recommend",
        _recommend,
        "Serving model -> faiss index -> top-K per user (seen filtered, fallback for new users) -> "
        "gold.recommendations, with exposure fairness.",
    ),
    JobSpec(
        "report",
        _report,
        "Gold tables, the latest train run and recommendation fairness -> one self-contained HTML report.",
    ),
    JobSpec(
        "federated",
        _federated,
        "Federated trend discovery on Flower: devices report hashtag use under local DP, or masked and summed "
        "with noise (SecAgg+) -> gold.federated_trends, with the privacy parameters in MLflow; or the two-tower "
        "trained on devices (task twotower: FedAvg or robust aggregation, user-level DP, 8-bit updates) -> MLflow.",
    ),
    JobSpec(
        "maintain", _maintain, "Retention, compaction, vacuum and log clean-up of every table (makes erasure physical)."
    ),
    JobSpec(
        "erase",
        _erase,
        "GDPR erasure: remove people (raw ids, or a stored request's id) and everything derived from them from every "
        "table.",
    ),
)
JOBS: dict[str, JobSpec] = {spec.name: spec for spec in JOB_LIST}

"""The jobs of the pipeline, in data-flow order: an explicit list of typed entries.

Each entry's loader imports the job's library function when the job runs (so ``flywheel --help`` does not import
pyspark, torch or MLflow); the import is code, checked by mypy, not a ``"module:function"`` string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from socialflywheel.results import JobResult

# A job: (session, or None for jobs without Spark; config; lake) -> its typed result (rows in/out, own figures).
JobFn = Callable[..., JobResult]


@dataclass(frozen=True)
class JobSpec:
    """A job: its command name, the loader of its library function and what it does."""

    name: str
    loader: Callable[[], JobFn]
    help: str

    def load(self) -> JobFn:
        """Import the job's library function and return it."""
        return self.loader()


def _simulate() -> JobFn:
    from socialflywheel.simulate import run_simulate

    return run_simulate


def _ingest() -> JobFn:
    from socialflywheel.ingest import run_ingest

    return run_ingest


def _conform() -> JobFn:
    from socialflywheel.ingest import run_conform

    return run_conform


def _features() -> JobFn:
    from socialflywheel.features.job import run_features

    return run_features


def _graph() -> JobFn:
    from socialflywheel.graph.job import run_graph

    return run_graph


def _train() -> JobFn:
    from socialflywheel.recsys.train_job import run_train

    return run_train


def _recommend() -> JobFn:
    from socialflywheel.recsys.recommend_job import run_recommend

    return run_recommend


def _report() -> JobFn:
    from socialflywheel.report import run_report

    return run_report


def _maintain() -> JobFn:
    from socialflywheel.lake.maintain import run_maintain

    return run_maintain


def _erase() -> JobFn:
    from socialflywheel.privacy.erase import run_erase

    return run_erase


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
        "maintain", _maintain, "Retention, compaction, vacuum and log clean-up of every table (makes erasure physical)."
    ),
    JobSpec(
        "erase", _erase, "GDPR erasure: remove people (raw ids) and everything derived from them from every table."
    ),
)
JOBS: dict[str, JobSpec] = {spec.name: spec for spec in JOB_LIST}

"""The jobs of the pipeline: one entry per arrow of the data flow, imported lazily."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """Where a job's library function lives and what it does."""

    name: str
    target: str  # "module:function" taking (spark, cfg, lake), returning a summary dict (rows_in/rows_out counted)
    help: str

    def load(self) -> Callable[..., dict[str, Any]]:
        module, func = self.target.split(":")
        fn: Callable[..., dict[str, Any]] = getattr(importlib.import_module(module), func)
        return fn


JOBS: dict[str, JobSpec] = {
    spec.name: spec
    for spec in [
        JobSpec(
            "simulate",
            "socialflywheel.simulate:run_simulate",
            "Simulate a social platform into landing files, with ground truth.",
        ),
        JobSpec(
            "ingest",
            "socialflywheel.ingest:run_ingest",
            "Landing files -> bronze.events (+ quarantine), reconciled per batch.",
        ),
        JobSpec(
            "conform",
            "socialflywheel.ingest:run_conform",
            "bronze -> silver: pseudonymize, deduplicate, users/posts/follows.",
        ),
        JobSpec(
            "features",
            "socialflywheel.features.job:run_features",
            "silver -> gold features: user/item snapshots, trends, sentiment, campaigns, segments, risk, "
            "point-in-time training examples (incremental by day).",
        ),
        JobSpec(
            "graph",
            "socialflywheel.graph.job:run_graph",
            "Follow and engagement graphs -> centrality, communities, people-you-may-know (cuGraph or NetworKit).",
        ),
        JobSpec(
            "train",
            "socialflywheel.recsys.train_job:run_train",
            "Two-tower retrieval (PyTorch DDP) beside most-popular and iALS; MLflow run, registry, serving alias.",
        ),
        JobSpec(
            "recommend",
            "socialflywheel.recsys.recommend_job:run_recommend",
            "Serving model -> faiss index -> top-K per user (seen filtered, fallback for new users) -> "
            "gold.recommendations, with exposure fairness.",
        ),
        JobSpec(
            "report",
            "socialflywheel.report:run_report",
            "Gold tables, the latest train run and recommendation fairness -> one self-contained HTML report.",
        ),
        JobSpec(
            "maintain",
            "socialflywheel.lake.maintain:run_maintain",
            "Retention, compaction, vacuum and log clean-up of every table (makes erasure physical).",
        ),
        JobSpec(
            "erase",
            "socialflywheel.privacy.erase:run_erase",
            "GDPR erasure: remove people (raw ids) and everything derived from them from every table.",
        ),
    ]
}

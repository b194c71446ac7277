"""Graph analytics: follow and engagement graphs, centrality, communities and people you may know."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config import FlywheelConfig
    from socialflywheel.graph.job import GraphResult
    from socialflywheel.lake.io import Lake

__all__ = ["run_graph"]


def run_graph(spark: SparkSession, cfg: FlywheelConfig, lake: Lake) -> GraphResult:
    """Build the graphs from silver, run the configured backend and write the graph gold tables."""
    from socialflywheel.graph.job import run_graph as _run

    return _run(spark, cfg, lake)

"""The report stage: one self-contained HTML page of the gold tables, the latest model run and fairness.

``run_report`` is the job function (``flywheel report``); ``data`` holds the pure aggregations
(k-suppression applied again), ``sections`` what each section shows, ``html`` the Jinja2 environment and
the values the templates render, and ``templates/`` all the markup (every value escaped by Jinja2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.config import FlywheelConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.report.job import ReportResult

__all__ = ["run_report"]


def run_report(spark: SparkSession | None, cfg: FlywheelConfig, lake: Lake) -> ReportResult:
    """Write the HTML report; see ``socialflywheel.report.job.run_report``."""
    from socialflywheel.report.job import run_report as _run

    return _run(spark, cfg, lake)

"""`make demo`: the pipeline end to end on the embedded default, with a closing summary."""

from __future__ import annotations

import time

from socialflywheel import progress
from socialflywheel.config import FlywheelConfig
from socialflywheel.config.masking import redact_text
from socialflywheel.jobs_registry import JOBS
from socialflywheel.results import JobResult

# The order of the data flow; a stage that does not exist yet is skipped.
PIPELINE = ("simulate", "ingest", "conform", "features", "graph", "train", "recommend", "report")


def run_demo(cfg: FlywheelConfig) -> dict[str, JobResult]:
    """Run the pipeline's jobs in order, print each one's figures, then the reconciliation and where to look."""
    from rich.console import Console

    from socialflywheel.console import print_summary
    from socialflywheel.ingest.bronze import IngestResult
    from socialflywheel.report.job import ReportResult
    from socialflywheel.runs import execute_job

    console = Console()
    results: dict[str, JobResult] = {}
    t0 = time.perf_counter()
    stages = [name for name in PIPELINE if name in JOBS]
    with progress.task("demo", total=len(stages), unit="jobs") as bar:
        for name in stages:
            bar.describe(f"demo: {name}")
            console.rule(f"[bold]{name}")
            results[name] = execute_job(name, cfg)
            print_summary(name, results[name])
            bar.advance()
    console.rule("[bold]demo finished")
    console.print(f"stages run: {', '.join(results)} in {time.perf_counter() - t0:.1f}s; lake at {cfg.lake_root}")
    ingest = results.get("ingest")
    if isinstance(ingest, IngestResult) and ingest.rows_in:
        console.print(
            f"reconciliation: rows in {ingest.rows_in:,} = new {ingest.rows_new:,} + already present "
            f"{ingest.rows_present:,} + quarantined {ingest.rows_quarantined:,} "
            f"({'holds' if ingest.reconciled else 'DOES NOT HOLD'})"
        )
    report = results.get("report")
    if isinstance(report, ReportResult):
        console.print(f"report: {report.path}")
    uri = redact_text(cfg.tracking_uri)
    console.print(f"see `flywheel tables`, `flywheel runs`, and `mlflow ui --backend-store-uri {uri}`")
    return results

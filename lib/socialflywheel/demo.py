"""`make demo`: the pipeline end to end on the embedded default, with a closing summary."""

from __future__ import annotations

import time
from typing import Any

from socialflywheel.config import FlywheelConfig
from socialflywheel.jobs_registry import JOBS

# The order of the data flow; a stage that does not exist yet is skipped.
PIPELINE = ("simulate", "ingest", "conform", "features", "graph", "train", "recommend", "report")


def run_demo(cfg: FlywheelConfig) -> dict[str, dict[str, Any]]:
    from rich.console import Console

    from socialflywheel.cli import execute_job, print_summary

    console = Console()
    results: dict[str, dict[str, Any]] = {}
    t0 = time.perf_counter()
    for name in PIPELINE:
        if name not in JOBS:
            continue
        console.rule(f"[bold]{name}")
        results[name] = execute_job(name, cfg)
        print_summary(name, results[name])
    console.rule("[bold]demo finished")
    console.print(f"stages run: {', '.join(results)} in {time.perf_counter() - t0:.1f}s; lake at {cfg.lake_root}")
    console.print("see `flywheel tables` and `flywheel runs`")
    return results

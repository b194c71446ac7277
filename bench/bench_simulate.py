"""Simulator throughput (events/s) and peak memory at given sizes, each size in its own process.

    python bench/bench_simulate.py              # 1M and 20M events
    python bench/bench_simulate.py 1000000      # one size

Writes bench/results/simulate.json. Users scale with events (one user per 100 events).
"""

from __future__ import annotations

import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.json"
SIZES = (1_000_000, 20_000_000)


def run_one(events: int, work_dir: str) -> dict[str, Any]:
    """Run the simulator once in this process (the child) and return its summary."""
    from socialflywheel.config import load_config
    from socialflywheel.lake.io import Lake
    from socialflywheel.simulate import run_simulate
    from socialflywheel.spark import get_session, stop_session

    cfg = load_config(
        overrides=[
            f"work_dir={work_dir}",
            "simulate.profile=custom",
            f"simulate.events={events}",
            f"simulate.users={max(events // 100, 1000)}",
            "simulate.days=28",
        ]
    )
    spark = get_session(cfg)
    try:
        return run_simulate(spark, Lake.from_config(cfg), cfg.simulate, landing=cfg.landing_dir).to_json()
    finally:
        stop_session()


def measure(events: int) -> dict[str, Any]:
    """Run one size in a child process; wall time, events/s and the child's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        out = Path(tmp) / "summary.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--child", str(events), tmp, str(out)], check=True)
        wall = time.perf_counter() - started
        summary = json.loads(out.read_text())
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # max over children so far
    return {
        "events": summary["events"],
        "users": summary["users"],
        "files": summary["files"],
        "bytes": summary["bytes"],
        "sim_seconds": summary["seconds"],
        "wall_seconds": round(wall, 2),
        "events_per_second": round(summary["events"] / summary["seconds"]),
        "peak_rss_mib": round(peak_mib),
        "plant_seconds": summary["plant_seconds"],
        "generate_seconds": summary["generate_seconds"],
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        summary = run_one(int(argv[1]), argv[2])
        Path(argv[3]).write_text(json.dumps(summary))
        return
    from rich.console import Console
    from rich.table import Table

    sizes = [int(a) for a in argv] or list(SIZES)
    rows = [measure(n) for n in sizes]
    table = Table(title="flywheel simulate (JSON landing, corruption on as in conf/local.yaml)")
    cols = ("events", "users", "files", "sim_seconds", "events_per_second", "peak_rss_mib")
    for col in cols:
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(*(f"{r[c]:,}" for c in cols))
    Console(width=200).print(table)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"machine": f"{platform.machine()}, {platform.python_version()}", "runs": rows}, indent=2) + "\n"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

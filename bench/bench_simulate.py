"""Simulator throughput (events/s, events per CPU second) and peak memory at given sizes, each size in its own process.

    python bench/bench_simulate.py                  # 1M and 10M events
    python bench/bench_simulate.py 1000000          # one size
    python bench/bench_simulate.py --out x.json 1000000

Writes bench/results/simulate.json (or ``--out``). Users scale with events (one user per 100 events).
Sail runs in the child process, so the child's peak RSS is the whole run's. Wall-clock events/s depends
on what else the machine runs (recorded as the load average); events per CPU second much less so.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.json"
SIZES = (1_000_000, 10_000_000)


def run_one(events: int, work_dir: str) -> dict[str, Any]:
    """Run the simulator once in this process (the child) and return its summary, CPU time and peak RSS."""
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
        load_before = os.getloadavg()[0]
        cpu = time.process_time()  # every thread of this process: the driver and Sail's task threads
        summary = run_simulate(spark, Lake.from_config(cfg), cfg.simulate, landing=cfg.landing_dir).to_json()
        summary["cpu_seconds"] = time.process_time() - cpu
        summary["load_avg_1m"] = round((load_before + os.getloadavg()[0]) / 2, 2)
        summary["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return summary
    finally:
        stop_session()


def measure(events: int) -> dict[str, Any]:
    """Run one size in a child process; wall time, events/s, events per CPU second and the child's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
        out = Path(tmp) / "summary.json"
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--child", str(events), tmp, str(out)], check=True)
        wall = time.perf_counter() - started
        summary = json.loads(out.read_text())
    return {
        "events": summary["events"],
        "users": summary["users"],
        "files": summary["files"],
        "bytes": summary["bytes"],
        "sim_seconds": summary["seconds"],
        "wall_seconds": round(wall, 2),
        "events_per_second": round(summary["events"] / summary["seconds"]),
        "cpu_seconds": round(summary["cpu_seconds"], 2),
        "events_per_cpu_second": round(summary["events"] / summary["cpu_seconds"]),
        "peak_rss_mib": round(summary["peak_rss_mib"]),
        "plant_seconds": summary["plant_seconds"],
        "generate_seconds": summary["generate_seconds"],
        "load_avg_1m": summary["load_avg_1m"],
    }


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        summary = run_one(int(argv[1]), argv[2])
        Path(argv[3]).write_text(json.dumps(summary))
        return
    from rich.console import Console
    from rich.table import Table

    results = RESULTS
    if argv[:1] == ["--out"]:
        results, argv = Path(argv[1]), argv[2:]
    sizes = [int(a) for a in argv] or list(SIZES)
    rows = [measure(n) for n in sizes]
    table = Table(
        title=f"flywheel simulate (JSON landing, corruption on as in conf/local.yaml), {os.cpu_count()} cores"
    )
    cols = (
        "events",
        "users",
        "files",
        "sim_seconds",
        "events_per_second",
        "cpu_seconds",
        "events_per_cpu_second",
        "peak_rss_mib",
        "plant_seconds",
        "generate_seconds",
        "load_avg_1m",
    )
    for col in cols:
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(*(f"{r[c]:,}" for c in cols))
    Console(width=220).print(table)
    results.parent.mkdir(parents=True, exist_ok=True)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    results.write_text(json.dumps({"machine": machine, "runs": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

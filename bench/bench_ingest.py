"""Ingest and conform throughput (events/s) and peak memory at given sizes on the embedded default.

    python bench/bench_ingest.py [EVENTS ...]      # default: 1000000 20000000

Each size is simulated (JSON landing, corruption on) into a temporary work directory, then ingest and
conform run in a fresh child process each, so the peak RSS is the job's own (Sail runs in-process).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import emit, run_child


def overrides(work: str, events: int) -> list[str]:
    return [
        f"work_dir={work}",
        "simulate.profile=custom",
        f"simulate.events={events}",
        f"simulate.users={max(300, events // 100)}",
        "simulate.days=28",
        "simulate.corruption.enabled=true",
    ]


def child(job: str, work: str, events: int) -> None:
    from socialflywheel.config import load_config
    from socialflywheel.runs import execute_job

    cfg = load_config(overrides=overrides(work, events))
    t0 = time.perf_counter()
    summary = execute_job(job, cfg)
    seconds = time.perf_counter() - t0
    rows = summary.rows_in
    print(json.dumps({"seconds": seconds, "rows_in": rows, "events_per_s": rows / seconds if seconds else 0.0}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [1_000_000, 20_000_000]
    rows = []
    for events in sizes:
        work = tempfile.mkdtemp(prefix="bench-ingest-")
        try:
            sim = run_child([__file__, "--child", "simulate", work, str(events)], timeout=7200)
            for job in ("ingest", "conform"):
                r = run_child([__file__, "--child", job, work, str(events)], timeout=7200)
                rows.append(
                    {
                        "job": job,
                        "events": events,
                        "rows_in": r["rows_in"],
                        "seconds": r["seconds"],
                        "events_per_s": r["events_per_s"],
                        "peak_rss_mib": r["tree_peak_rss_mib"],
                        "simulate_s": sim["seconds"],
                    }
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)
    emit("ingest", rows, {"command": "python bench/bench_ingest.py " + " ".join(map(str, sizes))})


if __name__ == "__main__":
    main()

"""The whole pipeline at a given size: per stage wall time, peak RSS of its process tree, rows and throughput.

    python bench/bench_pipeline.py [EVENTS ...] [--keep] [--timeout S] [--set key=value ...]
    # default: 1000000; the goal run is 100000000 (the world has events/20 users: ~5M at 100M)

Each size gets a fresh work directory; simulate -> ingest -> conform -> features -> graph -> train -> recommend ->
report run in order, each in its own child process (Sail runs in-process, so the child's tree is the stage's whole
memory). A stage that dies (the OOM killer's exit -9, a timeout, an error) is recorded with its exit code and last
lines, and the stages after it are recorded as skipped. Progress goes to stderr as each stage starts and ends; the
table and ``bench/results/pipeline.json`` (one entry per size, merged with earlier sizes' entries) come at the end,
with the machine's load average sampled before and after each stage.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import RESULTS, ChildFailed, emit, machine, run_child

# Figures a stage's result carries beyond rows (train: its speed, the examples it fitted, the holdout it reached).
QUALITY = (
    "examples_per_s",
    "epochs_run",
    "examples_seen",
    "refit_rows",
    "holdout_recall_at_50",
    "best_baseline_recall_at_50",
    "step_seconds",  # the features and ingest jobs' wall time per step
)
STAGES = ("simulate", "ingest", "conform", "features", "graph", "train", "recommend", "report")


def overrides(work: str, events: int, extra: list[str]) -> list[str]:
    """The pipeline's configuration at a size: the default world scaled to ``events`` (20 events per user)."""
    return [
        f"work_dir={work}",
        "simulate.profile=custom",
        f"simulate.events={events}",
        f"simulate.users={max(300, events // 20)}",
        "simulate.days=28",
        "simulate.corruption.enabled=true",
        *extra,
    ]


def child(job: str, work: str, events: int, extra: list[str]) -> None:
    from socialflywheel.config import load_config
    from socialflywheel.runs import execute_job

    cfg = load_config(overrides=overrides(work, events, extra))
    t0 = time.perf_counter()
    summary = execute_job(job, cfg)
    seconds = time.perf_counter() - t0
    out = {"seconds": seconds, "rows_in": int(summary.rows_in), "rows_out": int(summary.rows_out)}
    for name in QUALITY:  # what training reached, and how fast, when the stage is train
        if (value := getattr(summary, name, None)) is not None:
            out[name] = value
    print(json.dumps(out))


def _save(rows: list[dict[str, Any]], sizes: list[int], sets: list[str], *, table: bool = False) -> None:
    """Write bench/results/pipeline.json: earlier sizes' rows stay (the 100M goal run takes about an hour alone).

    Called after every stage too, so a run killed midway (or the machine's OOM killer taking the harness) keeps
    what it measured.
    """
    path = RESULTS / "pipeline.json"
    previous = json.loads(path.read_text()).get("rows", []) if path.exists() else []
    kept = [r for r in previous if r.get("events") not in set(sizes)]
    command = "python bench/bench_pipeline.py " + " ".join(map(str, sizes)) + "".join(f" --set {s}" for s in sets)
    if table:
        emit("pipeline", kept + rows, {"command": command, "cpus": os.cpu_count()})
        return
    payload = {"benchmark": "pipeline", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    payload |= {"machine": machine(), "rows": kept + rows, "command": command, "partial": True}
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=str))


def run_size(
    events: int,
    *,
    timeout: int,
    extra: list[str],
    keep: bool,
    done: list[dict[str, Any]],
    sizes: list[int],
    resume: tuple[str, str] | None = None,
    only: bool = False,
) -> list[dict[str, Any]]:
    """Run every stage at one size in a fresh work directory, or, with ``resume = (work, stage)``, the stages from
    ``stage`` on in a kept work directory (the earlier stages' rows are taken from the last saved results); ``only``
    runs that one stage and keeps every other stage's saved row."""
    rows: list[dict[str, Any]] = []
    stages: tuple[str, ...] = STAGES
    later: list[dict[str, Any]] = []
    if resume is None:
        work = tempfile.mkdtemp(prefix=f"bench-pipeline-{events}-")
    else:
        work, first = resume
        stages = (first,) if only else STAGES[STAGES.index(first) :]
        saved = json.loads((RESULTS / "pipeline.json").read_text()).get("rows", [])
        rows = [r for r in saved if r.get("events") == events and r["stage"] in STAGES[: STAGES.index(first)]]
        later = [r for r in saved if r.get("events") == events and r["stage"] in STAGES[STAGES.index(first) + 1 :]]
    failed: str | None = None
    try:
        for stage in stages:
            row: dict[str, Any] = {"events": events, "stage": stage}
            if failed:
                rows.append({**row, "status": f"skipped ({failed} failed)"})
                continue
            load_before = os.getloadavg()[0]
            print(f"[{time.strftime('%H:%M:%S')}] {events:,} events: {stage} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            try:
                r = run_child([__file__, "--child", stage, work, str(events), *extra], timeout=timeout)
            except ChildFailed as exc:
                failed = stage
                row |= {"status": f"died (exit {exc.returncode})", "error": " | ".join(exc.stderr_tail)}
            except TimeoutError:
                failed = stage
                row |= {"status": f"timed out after {timeout} s"}
            else:
                row |= {"status": "ok", "rows_in": r["rows_in"], "rows_out": r["rows_out"]}
                row |= {"peak_rss_mib": round(r["tree_peak_rss_mib"], 1)}
                row |= {name: r[name] for name in QUALITY if name in r}
            wall = time.perf_counter() - t0
            row |= {"wall_s": round(wall, 2), "events_per_s": round(events / wall) if wall else None}
            row |= {"load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}
            rows.append(row)
            _save(done + rows, sizes, extra)
            print(
                f"[{time.strftime('%H:%M:%S')}] {events:,} events: {stage} {row['status']} in {wall:.1f} s"
                + (f", peak {row['peak_rss_mib']:,.0f} MiB" if "peak_rss_mib" in row else ""),
                file=sys.stderr,
                flush=True,
            )
        if only:
            rows += later
        done = [r for r in rows if r.get("status") == "ok"]
        total = sum(r["wall_s"] for r in done)
        rows.append(
            {
                "events": events,
                "stage": "pipeline",
                "status": "ok" if len(done) == len(STAGES) else f"{len(done)}/{len(STAGES)} stages",
                "wall_s": round(total, 2),
                "peak_rss_mib": max((r.get("peak_rss_mib", 0.0) for r in done), default=0.0),
                "events_per_s": round(events / total) if total else None,
            }
        )
    finally:
        if keep:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("events", nargs="*", type=int, default=[1_000_000])
    ap.add_argument("--timeout", type=int, default=3 * 3600, help="seconds one stage may run")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument(
        "--resume",
        nargs=2,
        metavar=("WORK", "STAGE"),
        help="run the stages from STAGE on in a work directory kept by --keep (one size)",
    )
    ap.add_argument("--only", action="store_true", help="with --resume: run STAGE alone, keep the other stages' rows")
    args = ap.parse_args()
    rows: list[dict[str, Any]] = []
    resume = tuple(args.resume) if args.resume else None
    if resume and (len(args.events) != 1 or resume[1] not in STAGES):
        ap.error(f"--resume takes one size and a stage among {', '.join(STAGES)}")
    for events in args.events:
        rows += run_size(
            events,
            timeout=args.timeout,
            extra=args.sets,
            keep=args.keep or resume is not None,
            done=rows,
            sizes=args.events,
            resume=resume,
            only=args.only,
        )
    _save(rows, args.events, args.sets, table=True)


if __name__ == "__main__":
    main()

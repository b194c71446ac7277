"""Parse-step throughput with a source mapping (#18): a Twitter/X v2 dump through ``ingest.source: twitter-v2``
against the same events as contract lines, per line and columnar (what ingest does with contract JSON today).

    python bench/bench_source_mapping.py [EVENTS] [--ingest]      # default: 200000 simulated events

Simulates a world of about EVENTS events (``simulate.profile=custom``), keeps its posts, shares and comments as
contract lines, and writes the same as tweets (``socialflywheel.simulate.platform_dump``: a retweet maps to one
share, a reply to a comment and its own post). Each is parsed into Arrow batches by ``lines.file_batches`` (the
parse task's own work, on one core, no engine), best of ``REPEATS``; throughput is events out per CPU second. The
peer is the contract path the issue names ("at the speed ingest already has").
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import emit
from socialflywheel.ingest.landing import LandingFile
from socialflywheel.ingest.lines import file_batches
from socialflywheel.ingest.mapping import Mapper, load_source
from socialflywheel.ingest.parse import Limits
from socialflywheel.simulate.platform_dump import as_twitter_v2, decoded

REPEATS = 3
_LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def _world(events: int, work: Path) -> list[bytes]:
    from socialflywheel.config import load_config
    from socialflywheel.lake.io import Lake
    from socialflywheel.simulate import run_simulate
    from socialflywheel.spark import get_session, stop_session

    repo = Path(__file__).resolve().parents[1]
    cfg = load_config(
        repo / "conf" / "local.yaml",
        [
            f"work_dir={work}",
            "simulate.profile=custom",
            f"simulate.events={events}",
            f"simulate.users={max(300, events // 100)}",
            "simulate.days=14",
            "simulate.corruption.enabled=false",
        ],
    )
    spark = get_session(cfg)
    try:
        run_simulate(spark, Lake.from_config(cfg), cfg.simulate, landing=cfg.landing_dir)
    finally:
        stop_session()
    return [ln for p in sorted((cfg.landing_dir / "events").rglob("*.jsonl")) for ln in p.read_bytes().splitlines()]


def _time(content: bytes, mapping: dict[str, str] | Mapper, columnar: bool) -> tuple[float, float, int]:
    file = LandingFile(rel="bench.jsonl", uri="file:///bench.jsonl", size=len(content), sha256="0" * 64)
    best_cpu = best_wall = float("inf")
    rows = 0
    for _ in range(REPEATS):
        c0, w0 = time.process_time(), time.perf_counter()
        batches = list(file_batches(content, file, fmt="json", limits=_LIMITS, mapping=mapping, columnar=columnar))
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
        rows = sum(b.num_rows for b in batches)
        good = sum(b.column("status").null_count for b in batches)
    return best_cpu, best_wall, good if rows else 0


FILES = 8  # landing files per input: parse tasks over both cores


def _ingest_child(work: str, source: str) -> None:
    """Run the ingest job on ``work``'s landing (``source``: a mapping, or "" for contract lines); print its figures."""
    from socialflywheel.config import load_config
    from socialflywheel.runs import execute_job

    cfg = load_config(overrides=[f"work_dir={work}", *([f"ingest.source={source}"] if source else [])])
    t0 = time.perf_counter()
    summary = execute_job("ingest", cfg)
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "rows_out": summary.rows_out, "rows_in": summary.rows_in}))


def _ingest_rows(inputs: list[tuple[str, bytes, str]]) -> list[dict[str, object]]:
    """Each input through the ingest job in a child process, on a fresh landing of FILES files; best of two rounds
    (the inputs alternate, so neither always runs first)."""
    from _harness import run_child

    best: dict[str, dict[str, Any]] = {}
    for name, content, source in [*inputs, *inputs[::-1]]:
        with tempfile.TemporaryDirectory() as work:
            events = Path(work) / "landing" / "events"
            events.mkdir(parents=True)
            lines = content.splitlines(keepends=True)
            for i in range(FILES):
                (events / f"part-{i}.jsonl").write_bytes(b"".join(lines[i::FILES]))
            r = run_child([__file__, "--child-ingest", work, source], timeout=3600)
        if name not in best or r["seconds"] < best[name]["seconds"]:
            best[name] = r | {"lines": len(lines)}
    rows = []
    for name, _, _ in inputs:
        r = best[name]
        rows.append(
            {
                "path": f"ingest job: {name}",
                "lines": r["lines"],
                "events_out": r["rows_out"],
                "wall_s": r["seconds"],
                "events_per_wall_s": r["rows_out"] / r["seconds"],
                "peak_rss_mib": r["tree_peak_rss_mib"],
            }
        )
    return rows


def main(events: int, ingest: bool = False) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        lines = _world(events, Path(tmp))
    kept = [r for r in decoded(lines) if isinstance(r, dict) and r.get("event_type") in ("post", "share", "comment")]
    contract = b"".join(json.dumps(r).encode() + b"\n" for r in kept)
    tweets = list(as_twitter_v2(kept))
    dump = b"".join(json.dumps(t).encode() + b"\n" for t in tweets)
    mapper = Mapper(load_source("twitter-v2"))
    load_before = os.getloadavg()
    rows, figures = [], {}
    for name, content, mapping, columnar in (
        ("contract lines, columnar (today's ingest)", contract, {}, True),
        ("contract lines, per line", contract, {}, False),
        ("twitter-v2 dump, source mapping, columnar", dump, mapper, True),
        ("twitter-v2 dump, source mapping, per line", dump, mapper, False),
    ):
        cpu, wall, good = _time(content, mapping, columnar)
        n_lines = content.count(b"\n")
        rows.append(
            {
                "path": name,
                "lines": n_lines,
                "events_out": good,
                "cpu_s": cpu,
                "wall_s": wall,
                "events_per_cpu_s": good / cpu,
                "lines_per_cpu_s": n_lines / cpu,
            }
        )
        figures[name] = good / cpu
    mapped = figures["twitter-v2 dump, source mapping, columnar"]
    extra: dict[str, object] = {}
    if ingest:
        job_rows = _ingest_rows([("contract lines", contract, ""), ("twitter-v2 dump", dump, "twitter-v2")])
        rows += job_rows
        extra["ratio_ingest_job_mapped_over_contract_events_per_wall_s"] = (
            float(job_rows[1]["events_per_wall_s"]) / float(job_rows[0]["events_per_wall_s"])  # type: ignore[arg-type]
        )
    emit(
        "source_mapping",
        rows,
        {
            **extra,
            "command": f"python bench/bench_source_mapping.py {events}" + (" --ingest" if ingest else ""),
            "repeats": REPEATS,
            "ratio_mapped_over_columnar_events_per_s": mapped / figures["contract lines, columnar (today's ingest)"],
            "ratio_mapped_over_per_line_events_per_s": mapped / figures["contract lines, per line"],
            "ratio_mapped_columnar_over_mapped_per_line": mapped / figures["twitter-v2 dump, source mapping, per line"],
            "load_average_1_5_15_before": load_before,
            "load_average_1_5_15_after": os.getloadavg(),
        },
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child-ingest":
        _ingest_child(sys.argv[2], sys.argv[3])
    else:
        sizes = [int(a) for a in sys.argv[1:] if not a.startswith("--")]
        main(sizes[0] if sizes else 200_000, ingest="--ingest" in sys.argv)

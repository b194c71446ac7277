"""Feature job (analytics tables and, when present, part B's user/item features) on Sail vs classic Spark.

    python bench/bench_features.py                       # 1M and 20M events
    python bench/bench_features.py --sizes 1000000       # one size
    python bench/bench_features.py --engine-timeout 600  # seconds allowed per engine and size
    python bench/bench_features.py --sizes 1000000 --engines duckdb --repeats 3  # only the peer pair, best of 3

For each size: simulate (profile custom, users = events / 100) in a child, export silver-like Parquet
(the simulator's Parquet landing files with the contract columns; posts and follows from the real
conform transforms; ids stay raw, which changes no cost), then run every feature transform over
that Parquet in a fresh child per engine (Sail embedded; classic ``local[2]``), writing Parquet.
Wall time and the peak RSS of each child's whole process tree (the JVM included) are recorded, with
classic / Sail ratios, in bench/results/features.json. A size an engine cannot finish within the
timeout is recorded as such.

The peer (``--engines`` duckdb, issue #17): DuckDB, what one would pick for a single machine, computes
gold.user_features with its own SQL (:func:`user_features_sql`, 2 threads) over the same Parquet, in its own child
measured the same way, beside a Sail child running only our user_features transform; the two outputs are checked
equal (every key; every column of 200 random people over all their as-of dates, floats to 1e-9 relative) and
Sail / DuckDB ratios are recorded. Rows of sizes and engines not run again are kept from the previous results
file, each with the date it was measured.
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
from _duckdb_peer import check_user_features, run_duckdb
from _harness import ChildFailed, emit, run_child

REPO = Path(__file__).resolve().parents[1]
_SERVERS: list[Any] = []  # a Sail server stops when collected: keep it for the child's life


def _session(engine: str, shuffle_partitions: int = 8) -> Any:
    from pyspark.sql import SparkSession

    if engine == "sail":
        from pysail.spark import SparkConnectServer

        server = SparkConnectServer(ip="127.0.0.1", port=0)
        server.start(background=True)
        _SERVERS.append(server)
        url = "sc://{}:{}".format(*server.listening_address)
        return SparkSession.builder.remote(url).config("spark.sql.session.timeZone", "UTC").getOrCreate()
    return (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "12g")
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def prepare(events: int, work: str) -> None:
    """Child: simulate, then write events/posts/follows Parquet under ``work``."""
    from pyspark.sql import functions as F

    from socialflywheel.config import load_config
    from socialflywheel.ingest.conform import derive_follows, derive_posts
    from socialflywheel.lake.catalog import table
    from socialflywheel.lake.io import Lake
    from socialflywheel.simulate import run_simulate
    from socialflywheel.spark import get_session, stop_session

    t0 = time.perf_counter()
    cfg = load_config(
        overrides=[
            f"work_dir={work}/sim",
            "simulate.profile=custom",
            f"simulate.events={events}",
            f"simulate.users={max(events // 100, 1000)}",
            "simulate.formats=[json,parquet]",
        ]
    )
    spark = get_session(cfg)
    summary = run_simulate(spark, Lake.from_config(cfg), cfg.simulate, landing=cfg.landing_dir)
    sim_s = time.perf_counter() - t0
    raw = spark.read.parquet(f"{work}/sim/landing/events_parquet")
    cols = [c for c in table("silver.events").column_names if c != "event_date"]
    events_df = raw.select(*cols, F.to_date("ts").alias("event_date"))
    events_df.write.mode("overwrite").parquet(f"{work}/events.parquet")
    ev = spark.read.parquet(f"{work}/events.parquet")
    extras = raw.select("event_id", F.create_map(F.lit("category"), F.col("category")).alias("extras"))
    derive_posts(ev.join(extras, "event_id")).write.mode("overwrite").parquet(f"{work}/posts.parquet")
    derive_follows(ev).write.mode("overwrite").parquet(f"{work}/follows.parquet")
    rows = spark.read.parquet(f"{work}/events.parquet").count()
    stop_session()
    shutil.rmtree(f"{work}/sim", ignore_errors=True)
    print(json.dumps({"events": rows, "users": summary.users, "simulate_s": sim_s}))


def _steps(spark: Any, work: str) -> dict[str, Any]:
    """Every feature transform as (name -> callable returning a DataFrame), part B's when importable."""
    from socialflywheel.features import campaigns, risk, segments, sentiment, trends

    ev, posts, follows = (spark.read.parquet(f"{work}/{n}.parquet") for n in ("events", "posts", "follows"))
    opts = {"baseline_buckets": 48, "prior": 2.0, "min_score": 4.0, "min_count": 3, "extend_score": 2.0, "max_gap": 3}
    cats = sorted(r[0] for r in posts.select("category").distinct().collect() if r[0])
    steps: dict[str, Any] = {
        "account_risk": lambda: risk.account_risk(ev, follows, window_minutes=10, min_others=5, threshold=0.5),
        "trend_scores_hour": lambda: trends.trend_scores_table(ev, granularity="hour", **opts),
        "trends_hour": lambda: trends.trends_table(ev, granularity="hour", **opts),
        "trends_day": lambda: trends.trends_table(ev, granularity="day", **{**opts, "baseline_buckets": 7}),
        "campaign_performance": lambda: campaigns.campaign_performance(ev, posts, min_users=10),
        "post_sentiment": lambda: sentiment.post_sentiment(ev),
        "segment_features": lambda: segments.behaviour_features(ev, posts, categories=cats),
    }
    try:  # part B (user/item features), built in parallel: run it when its transforms are there
        from socialflywheel.features import item_features, user_features

        steps["user_features"] = lambda: user_features.user_features(
            ev, posts, windows_days=[1, 7, 28], categories=cats
        )
        steps["item_features"] = lambda: item_features.item_features(ev, posts, velocity_hours=[1, 6, 24])
    except ImportError:
        pass
    return steps


def classic_partitions(events: int) -> int:
    """Classic Spark's shuffle partitions for a size: 8 at 1M events, growing with the data so that no
    task's shuffle block outgrows the driver heap (Sail sizes its own partitions)."""
    return max(8, 2 * events // 1_000_000)


def run_engine(engine: str, work: str, shuffle_partitions: int, only: list[str] | None = None) -> None:
    """Child: run every transform on one engine, Parquet out; then the steps that read earlier outputs.
    With ``only``, just those transforms, under ``out-<engine>-<names>``."""
    from socialflywheel.features import segments, sentiment

    t0 = time.perf_counter()
    spark = _session(engine, shuffle_partitions)
    start_s = time.perf_counter() - t0
    out = f"{work}/out-{engine}" + "".join(f"-{n}" for n in only or [])
    timings: dict[str, float] = {}
    for name, make in _steps(spark, work).items():
        if only and name not in only:
            continue
        t = time.perf_counter()
        make().write.mode("overwrite").parquet(f"{out}/{name}")
        timings[name] = time.perf_counter() - t
        print(f"[{engine}] {name}: {timings[name]:.1f} s", file=sys.stderr, flush=True)
    if only:
        spark.stop()
        print(json.dumps({"start_s": start_s, "transforms_s": sum(timings.values()), "steps": timings}))
        return
    t = time.perf_counter()
    posts = spark.read.parquet(f"{work}/posts.parquet")
    scored = spark.read.parquet(f"{out}/post_sentiment")
    sentiment.sentiment_aggregates(scored, posts, min_users=10).write.mode("overwrite").parquet(f"{out}/sent_agg")
    timings["sentiment_aggregates"] = time.perf_counter() - t
    t = time.perf_counter()
    feats = spark.read.parquet(f"{out}/segment_features")
    cols = segments.feature_columns(feats)
    fit = segments.fit_segment_centres(feats, columns=cols, k=8, seed=7, max_users=200_000)
    segments.assign_segments(feats, **fit).write.mode("overwrite").parquet(f"{out}/user_segments")
    timings["segments_fit_assign"] = time.perf_counter() - t
    spark.stop()
    total = sum(timings.values())
    print(json.dumps({"start_s": start_s, "transforms_s": total, "steps": timings}))


def _measure(
    engine: str, job: str, argv: list[str], *, work: str, size: int, timeout: int, notes: dict[str, Any]
) -> dict[str, Any] | None:
    """One child run with the 1-minute load average at its start; a timeout or a crash is noted, not raised."""
    print(f"{size:,} events: {engine} ({job}) ...", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    try:
        r = run_child([__file__, "--work", work, "--child", *argv], timeout=timeout)
    except TimeoutError:
        notes["unfinished"].append({"events": size, "engine": engine, "job": job, "timeout_s": timeout})
        return None
    except ChildFailed as exc:  # e.g. killed by the kernel's OOM killer (-9): recorded, not fatal
        failure = {"events": size, "engine": engine, "job": job, "exit_code": exc.returncode, "stderr": exc.stderr_tail}
        notes["unfinished"].append(failure)
        print(f"{size:,} events: {engine} failed: {failure}", file=sys.stderr, flush=True)
        return None
    return {**r, "load_1m": load}


def _merge_previous(rows: list[dict[str, Any]], notes: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows of the last results file that this run did not measure again (same events, engine and job), kept
    with the date they were measured, so that a run of one size or engine does not erase the others."""
    path = Path(__file__).resolve().parent / "results" / "features.json"
    if not path.exists():
        return rows
    old = json.loads(path.read_text())
    done = {(r["events"], r["engine"], r.get("job", "all features")) for r in rows}

    def stale(r: dict[str, Any]) -> bool:  # measured again, or a ratio with a part measured again
        job = r.get("job", "all features")
        return any((r["events"], e, job) in done for e in [r["engine"], *r["engine"].split(" / ")])

    kept = [
        {"job": "all features", **r, "measured": r.get("measured", old.get("when"))}
        for r in old.get("runs", old.get("rows", []))
        if not stale(r)
    ]
    notes["earlier_commands"] = [*old.get("earlier_commands", []), old.get("command")] if kept else []
    notes["unfinished"] = [*notes["unfinished"], *(u for u in old.get("unfinished", []) if kept)]
    notes["peer_checks"] = {**(old.get("peer_checks", {}) if kept else {}), **notes["peer_checks"]}
    return sorted(kept + rows, key=lambda r: (r["events"], r["job"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 20_000_000])
    parser.add_argument(
        "--engines",
        default="sail,classic,duckdb",
        help="comma list of sail, classic (the whole feature job) and duckdb (the peer pair: user_features alone on "
        "Sail and on DuckDB, checked equal)",
    )
    parser.add_argument("--engine-timeout", type=int, default=5400)
    parser.add_argument("--repeats", type=int, default=1, help="runs per engine (interleaved); the fastest is kept")
    parser.add_argument("--child", choices=["prepare", "sail", "classic", "duckdb"])
    parser.add_argument("--steps", help="child only: comma list of the transforms to run (default all)")
    parser.add_argument("--events", type=int)
    parser.add_argument("--work")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    args = parser.parse_args()
    if args.child == "prepare":
        prepare(args.events, args.work)
        return
    if args.child == "duckdb":
        run_duckdb(args.work)
        return
    if args.child:
        run_engine(args.child, args.work, args.shuffle_partitions, args.steps.split(",") if args.steps else None)
        return
    engines = args.engines.split(",")
    unknown = set(engines) - {"sail", "classic", "duckdb"}
    if unknown:
        parser.error(f"unknown engines: {sorted(unknown)}")
    rows: list[dict[str, Any]] = []
    notes: dict[str, Any] = {"engine_timeout_s": args.engine_timeout, "unfinished": [], "peer_checks": {}}
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for size in args.sizes:
        work = tempfile.mkdtemp(prefix="bench-features-")
        try:
            prep = run_child([__file__, "--child", "prepare", "--events", str(size), "--work", work], timeout=3600)
            parts = classic_partitions(prep["events"])
            # (label, job, argv): the full feature job per Spark engine; the peer pair runs gold.user_features only
            runs = [
                (e, "all features", [e, "--shuffle-partitions", str(parts)])
                for e in ("sail", "classic")
                if e in engines
            ]
            if "duckdb" in engines:
                runs += [("sail", "user_features", ["sail", "--steps", "user_features"])]
                runs += [("duckdb", "user_features", ["duckdb"])]
            # Repeats are interleaved (A, B, A, B, ...) and the fastest of each is kept: on a shared machine the
            # other tenants' load comes and goes, and best-of-N measures the engine rather than the neighbours.
            samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
            for _ in range(args.repeats):
                for engine, job, argv in runs:
                    r = _measure(engine, job, argv, work=work, size=size, timeout=args.engine_timeout, notes=notes)
                    if r is not None:
                        samples.setdefault((engine, job), []).append(r)
            result = {key: min(rs, key=lambda r: r["wall_s"]) for key, rs in samples.items()}
            for (engine, job), r in result.items():
                rows.append(
                    {
                        "events": prep["events"],
                        "engine": engine,
                        "job": job,
                        "wall_s": r["wall_s"],
                        "transforms_s": r["transforms_s"],
                        "peak_rss_mib": r["tree_peak_rss_mib"],
                        "classic_shuffle_partitions": parts if engine == "classic" else None,
                        "measured": when,
                        "load_1m": r["load_1m"],
                        "samples_wall_s": [x["wall_s"] for x in samples[engine, job]],
                        "samples_peak_rss_mib": [x["tree_peak_rss_mib"] for x in samples[engine, job]],
                        "samples_load_1m": [x["load_1m"] for x in samples[engine, job]],
                        "steps": r["steps"],
                        **({"duckdb": f"{r['duckdb_version']}, threads={r['threads']}"} if engine == "duckdb" else {}),
                    }
                )
            for num, den, job in (("classic", "sail", "all features"), ("sail", "duckdb", "user_features")):
                if (num, job) in result and (den, job) in result:
                    a, b = result[num, job], result[den, job]
                    rows.append(
                        {
                            "events": prep["events"],
                            "engine": f"{num} / {den}",
                            "job": job,
                            "wall_s": a["wall_s"] / b["wall_s"],
                            "transforms_s": a["transforms_s"] / b["transforms_s"],
                            "peak_rss_mib": a["tree_peak_rss_mib"] / b["tree_peak_rss_mib"],
                            "measured": when,
                        }
                    )
            if ("sail", "user_features") in result and ("duckdb", "user_features") in result:
                check = check_user_features(
                    f"{work}/out-sail-user_features/user_features", f"{work}/out-duckdb/user_features"
                )
                notes["peer_checks"][str(prep["events"])] = {"measured": when, **check}
                print(f"{size:,} events: sail vs duckdb equal: {check['equal']}", file=sys.stderr, flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    rows = _merge_previous(rows, notes)
    table_rows = [
        {k: v for k, v in r.items() if k not in ("steps", "duckdb") and not k.startswith("samples_")} for r in rows
    ]
    notes["load_note"] = (
        f"load_1m: the 1-minute load average at a child's start ({os.cpu_count()} CPUs, shared with other work); "
        "with --repeats, runs are interleaved across engines and the fastest of each is the row (samples_* hold all)"
    )
    emit("features", table_rows, {"runs": rows, **notes, "command": " ".join(sys.argv)})


if __name__ == "__main__":
    main()

"""Feature job (analytics tables and, when present, part B's user/item features) on Sail vs classic Spark.

    python bench/bench_features.py                       # 1M and 20M events
    python bench/bench_features.py --sizes 1000000       # one size
    python bench/bench_features.py --engine-timeout 600  # seconds allowed per engine and size

For each size: simulate (profile custom, users = events / 100) in a child, export silver-like Parquet
(the simulator's Parquet landing files with the contract columns; posts and follows from the real
conform transforms; ids stay raw, which changes no cost), then run every feature transform over
that Parquet in a fresh child per engine (Sail embedded; classic ``local[2]``), writing Parquet.
Wall time and the peak RSS of each child's whole process tree (the JVM included) are recorded, with
classic / Sail ratios, in bench/results/features.json. A size an engine cannot finish within the
timeout is recorded as such.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
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


def run_engine(engine: str, work: str, shuffle_partitions: int) -> None:
    """Child: run every transform on one engine, Parquet out; then the steps that read earlier outputs."""
    from socialflywheel.features import segments, sentiment

    t0 = time.perf_counter()
    spark = _session(engine, shuffle_partitions)
    start_s = time.perf_counter() - t0
    out = f"{work}/out-{engine}"
    timings: dict[str, float] = {}
    for name, make in _steps(spark, work).items():
        t = time.perf_counter()
        make().write.mode("overwrite").parquet(f"{out}/{name}")
        timings[name] = time.perf_counter() - t
        print(f"[{engine}] {name}: {timings[name]:.1f} s", file=sys.stderr, flush=True)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 20_000_000])
    parser.add_argument("--engine-timeout", type=int, default=5400)
    parser.add_argument("--child", choices=["prepare", "sail", "classic"])
    parser.add_argument("--events", type=int)
    parser.add_argument("--work")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    args = parser.parse_args()
    if args.child == "prepare":
        prepare(args.events, args.work)
        return
    if args.child:
        run_engine(args.child, args.work, args.shuffle_partitions)
        return
    rows: list[dict[str, Any]] = []
    notes: dict[str, Any] = {"engine_timeout_s": args.engine_timeout, "unfinished": []}
    for size in args.sizes:
        work = tempfile.mkdtemp(prefix="bench-features-")
        try:
            prep = run_child([__file__, "--child", "prepare", "--events", str(size), "--work", work], timeout=3600)
            result: dict[str, dict[str, Any]] = {}
            parts = classic_partitions(prep["events"])
            for engine in ("sail", "classic"):
                try:
                    print(f"{size:,} events: {engine} ...", file=sys.stderr, flush=True)
                    result[engine] = run_child(
                        [__file__, "--child", engine, "--work", work, "--shuffle-partitions", str(parts)],
                        timeout=args.engine_timeout,
                    )
                except TimeoutError:
                    notes["unfinished"].append({"events": size, "engine": engine, "timeout_s": args.engine_timeout})
                    continue
                except ChildFailed as exc:  # e.g. killed by the kernel's OOM killer (-9): recorded, not fatal
                    failure = {"events": size, "engine": engine, "exit_code": exc.returncode, "stderr": exc.stderr_tail}
                    notes["unfinished"].append(failure)
                    print(f"{size:,} events: {engine} failed: {failure}", file=sys.stderr, flush=True)
                    continue
                r = result[engine]
                rows.append(
                    {
                        "events": prep["events"],
                        "engine": engine,
                        "wall_s": r["wall_s"],
                        "transforms_s": r["transforms_s"],
                        "peak_rss_mib": r["tree_peak_rss_mib"],
                        "classic_shuffle_partitions": parts if engine == "classic" else None,
                        "steps": r["steps"],
                    }
                )
            if len(result) == 2:
                s, c = result["sail"], result["classic"]
                rows.append(
                    {
                        "events": prep["events"],
                        "engine": "classic / sail",
                        "wall_s": c["wall_s"] / s["wall_s"],
                        "transforms_s": c["transforms_s"] / s["transforms_s"],
                        "peak_rss_mib": c["tree_peak_rss_mib"] / s["tree_peak_rss_mib"],
                    }
                )
        finally:
            shutil.rmtree(work, ignore_errors=True)
    table_rows = [{k: v for k, v in r.items() if k != "steps"} for r in rows]
    emit("features", table_rows, {"runs": rows, **notes, "command": " ".join(sys.argv)})


if __name__ == "__main__":
    main()

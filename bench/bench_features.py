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
import math
import os
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


# --- the peer: DuckDB, the engine one would pick for one machine (issue #17) -------------------------------------
# Its own SQL for the gold.user_features definition (catalog doc and features/user_features.py), not our Spark code.

_WINDOWS = (1, 7, 28)
_SESSION_GAP_MINUTES = 30


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def _ratio(num: str, den: str) -> str:
    return f"CASE WHEN ({den}) > 0 THEN ({num})::DOUBLE / ({den})::DOUBLE ELSE 0.0 END"


def user_features_sql(work: str, categories: list[str]) -> str:
    """DuckDB SELECT of gold.user_features over the silver Parquet under ``work``, in catalog column order.

    Snapshots on a contiguous per-person date grid (first event date to the last event date of the data), so that
    ROWS frames are day windows; dwell order statistics are element ``ceil(p * n)`` of the window's sorted views;
    follower counts are the running sum of net follow changes, joined ASOF to each snapshot date.
    """
    from socialflywheel.lake.catalog import ENGAGEMENT_TYPES, EVENT_TYPES
    from socialflywheel.lake.catalog.stages import USER_FEATURES

    wins, longest = _WINDOWS, _WINDOWS[-1]
    engaged = f"event_type IN ({', '.join(map(_q, ENGAGEMENT_TYPES))})"
    counts = [f"count(*) FILTER (WHERE event_type = {_q(t)}) AS n_{t}" for t in EVENT_TYPES]
    counts += [f"count(*) FILTER (WHERE {engaged} AND category = {_q(c)}) AS c_{i}" for i, c in enumerate(categories)]
    day_cols = [f"n_{t}" for t in EVENT_TYPES] + [f"c_{i}" for i in range(len(categories))] + ["n_sessions"]
    sums = [f"sum(n_{t}) OVER w{w} AS n_{t}_{w}" for t in EVENT_TYPES for w in wins]
    sums += [f"sum(active) OVER w{w} AS active_{w}" for w in wins]
    sums += [f"sum(n_sessions) OVER w{w} AS sessions_{w}" for w in wins]
    sums += [f"sum(c_{i}) OVER w{longest} AS c_{i}_{longest}" for i in range(len(categories))]
    frames = ", ".join(
        f"w{w} AS (PARTITION BY user_id ORDER BY as_of_date ROWS BETWEEN {w - 1} PRECEDING AND CURRENT ROW)"
        for w in wins
    )

    def kv(pairs: list[tuple[str, str]]) -> str:
        return f"MAP([{', '.join(_q(k) for k, _ in pairs)}], [{', '.join(v for _, v in pairs)}])"

    engaged_in = {w: " + ".join(f"n_{t}_{w}" for t in ENGAGEMENT_TYPES) for w in wins}
    cat_total = " + ".join(f"c_{i}_{longest}" for i in range(len(categories))) or "0"
    columns = {
        "user_id": "s.user_id",
        "event_counts": kv([(f"{t}_{w}d", f"n_{t}_{w}::BIGINT") for t in EVENT_TYPES for w in wins]),
        "engagement_rate": kv([(f"{w}d", _ratio(engaged_in[w], f"n_view_{w}")) for w in wins]),
        "active_days": kv([(f"{w}d", f"active_{w}::BIGINT") for w in wins]),
        "sessions": kv([(f"{w}d", f"sessions_{w}::BIGINT") for w in wins]),
        "dwell_mean": "d.dwell_mean",
        "dwell_p50": "d.dwell_p50",
        "dwell_p90": "d.dwell_p90",
        "days_since_last_event": "(s.as_of_date - last_event_ts::DATE)::INTEGER",
        "last_event_ts": "last_event_ts",
        "followers": "coalesce(f.followers, 0)::BIGINT",
        "followees": "coalesce(f.followees, 0)::BIGINT",
        "category_affinity": "["
        + ", ".join(_ratio(f"c_{i}_{longest}", cat_total) for i in range(len(categories)))
        + "]::DOUBLE[]",
        "ad_ctr": _ratio(f"n_ad_click_{longest}", f"n_ad_impression_{longest}"),
        "as_of_date": "s.as_of_date",
    }
    assert list(columns) == USER_FEATURES.column_names
    gap_us = _SESSION_GAP_MINUTES * 60_000_000
    return f"""
WITH ev AS (SELECT * FROM read_parquet('{work}/events.parquet/*.parquet')),
posts AS (SELECT post_id, category FROM read_parquet('{work}/posts.parquet/*.parquet')),
last_day AS (SELECT max(event_date) AS end_date FROM ev),
-- a session starts at a person's first event or after {_SESSION_GAP_MINUTES} minutes without one
sessioned AS (
    SELECT *, CASE WHEN prev_us IS NULL OR epoch_us(ts) - prev_us > {gap_us} THEN 1 ELSE 0 END AS session_start
    FROM (SELECT *, lag(epoch_us(ts)) OVER (
              PARTITION BY user_id ORDER BY ts ASC NULLS FIRST, event_id ASC NULLS FIRST) AS prev_us
          FROM ev)
),
daily AS (
    SELECT user_id, event_date, {", ".join(counts)},
           sum(session_start) AS n_sessions, max(ts) AS day_last_ts
    FROM sessioned LEFT JOIN posts USING (post_id)
    GROUP BY user_id, event_date
),
grid AS (
    SELECT user_id, (first_day + unnest(range(0, end_date - first_day + 1))::INTEGER) AS as_of_date
    FROM (SELECT user_id, min(event_date) AS first_day FROM daily GROUP BY user_id), last_day
    WHERE first_day <= end_date
),
base AS (
    SELECT g.user_id, g.as_of_date, {", ".join(f"coalesce(d.{c}, 0) AS {c}" for c in day_cols)},
           (d.day_last_ts IS NOT NULL)::BIGINT AS active, d.day_last_ts
    FROM grid g LEFT JOIN daily d ON g.user_id = d.user_id AND g.as_of_date = d.event_date
),
snap AS (
    SELECT user_id, as_of_date, {", ".join(sums)},
           max(day_last_ts) OVER (PARTITION BY user_id ORDER BY as_of_date ROWS UNBOUNDED PRECEDING) AS last_event_ts
    FROM base
    WINDOW {frames}
),
view_days AS (
    SELECT user_id, event_date, list(dwell_ms::DOUBLE) AS vals, sum(dwell_ms::DOUBLE) AS total, count(*) AS n
    FROM ev WHERE event_type = 'view' AND dwell_ms IS NOT NULL
    GROUP BY user_id, event_date
),
view_grid AS (
    SELECT user_id, (first_day + unnest(range(0, end_date - first_day + 1))::INTEGER) AS as_of_date
    FROM (SELECT user_id, min(event_date) AS first_day FROM view_days GROUP BY user_id), last_day
    WHERE first_day <= end_date
),
view_windows AS (
    SELECT g.user_id, g.as_of_date,
           sum(v.total) OVER w AS total, sum(v.n) OVER w AS n,
           list_sort(flatten(list(coalesce(v.vals, []::DOUBLE[])) OVER w)) AS vals
    FROM view_grid g LEFT JOIN view_days v ON g.user_id = v.user_id AND g.as_of_date = v.event_date
    WINDOW w AS (PARTITION BY g.user_id ORDER BY g.as_of_date ROWS BETWEEN {longest - 1} PRECEDING AND CURRENT ROW)
),
dwell AS (
    SELECT user_id, as_of_date, total / n AS dwell_mean,
           vals[greatest(1, ceil(n * 0.5::DOUBLE))::BIGINT] AS dwell_p50,
           vals[greatest(1, ceil(n * 0.9::DOUBLE))::BIGINT] AS dwell_p90
    FROM view_windows WHERE n > 0
),
-- a pair's state at the end of a day is its last act that day (an unfollow wins a tie)
pair_days AS (
    SELECT user_id AS follower, target_user_id AS followee, event_date, (event_type = 'follow')::INTEGER AS state
    FROM ev
    WHERE event_type IN ('follow', 'unfollow') AND user_id IS NOT NULL AND target_user_id IS NOT NULL
      AND user_id <> target_user_id
    QUALIFY row_number() OVER (PARTITION BY user_id, target_user_id, event_date
                               ORDER BY ts DESC NULLS LAST, event_type DESC NULLS LAST, event_id DESC NULLS LAST) = 1
),
changes AS (
    SELECT * FROM (
        SELECT *, state - lag(state, 1, 0) OVER (PARTITION BY follower, followee ORDER BY event_date ASC NULLS FIRST)
                  AS delta
        FROM pair_days)
    WHERE delta <> 0
),
follow_days AS (
    SELECT user_id, event_date, sum(d_in) AS d_in, sum(d_out) AS d_out
    FROM (SELECT followee AS user_id, event_date, delta AS d_in, 0 AS d_out FROM changes
          UNION ALL SELECT follower, event_date, 0, delta FROM changes)
    WHERE event_date IS NOT NULL
    GROUP BY user_id, event_date
),
follow_running AS (
    SELECT user_id, event_date,
           sum(d_in) OVER (PARTITION BY user_id ORDER BY event_date ROWS UNBOUNDED PRECEDING) AS followers,
           sum(d_out) OVER (PARTITION BY user_id ORDER BY event_date ROWS UNBOUNDED PRECEDING) AS followees
    FROM follow_days
)
SELECT {", ".join(f"{expr} AS {name}" for name, expr in columns.items())}
FROM snap s
LEFT JOIN dwell d ON s.user_id = d.user_id AND s.as_of_date = d.as_of_date
ASOF LEFT JOIN follow_running f ON s.user_id = f.user_id AND s.as_of_date >= f.event_date
"""


def run_duckdb(work: str, categories: list[str] | None = None, threads: int = 2) -> None:
    """Child: gold.user_features with DuckDB (``threads`` threads), Parquet out under ``work``/out-duckdb."""
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect(config={"threads": threads, "preserve_insertion_order": False})
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET temp_directory = {_q(work + '/duckdb-tmp')}")
    start_s = time.perf_counter() - t0
    t = time.perf_counter()
    if categories is None:  # the same vocabulary as the Sail run: sorted non-empty categories of posts
        rows = con.execute(f"SELECT DISTINCT category FROM read_parquet('{work}/posts.parquet/*.parquet')").fetchall()
        categories = sorted(r[0] for r in rows if r[0])
    out = f"{work}/out-duckdb/user_features"
    shutil.rmtree(out, ignore_errors=True)  # a repeat writes afresh
    Path(out).mkdir(parents=True)
    con.execute(f"COPY ({user_features_sql(work, categories)}) TO '{out}/part-0.parquet' (FORMAT parquet)")
    timings = {"user_features": time.perf_counter() - t}
    print(f"[duckdb] user_features: {timings['user_features']:.1f} s", file=sys.stderr, flush=True)
    print(
        json.dumps(
            {
                "start_s": start_s,
                "transforms_s": timings["user_features"],
                "steps": timings,
                "duckdb_version": duckdb.__version__,
                "threads": threads,
            }
        )
    )


def _plain(v: Any) -> Any:
    """A DuckDB MAP fetched as {'key': [...], 'value': [...]} (older clients) as a dict."""
    if isinstance(v, dict) and set(v) == {"key", "value"} and isinstance(v["key"], list):
        return dict(zip(v["key"], v["value"], strict=True))
    return v


def _same(a: Any, b: Any, rel: float) -> bool:
    a, b = _plain(a), _plain(b)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], rel) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, rel) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)


def check_user_features(
    ours: str, peer: str, *, sample: int = 200, seed: int = 17, rel: float = 1e-9
) -> dict[str, Any]:
    """Compare two gold.user_features Parquet folders: every key, and every column of ``sample`` random people.

    Args:
        ours: the folder our job (Sail) wrote.
        peer: the folder the peer (DuckDB) wrote.
        sample: how many user_ids (drawn from ours) are compared over all their as-of dates.
        seed: the draw's seed.
        rel: relative tolerance of floats (counts, keys, dates and timestamps must be equal).

    Returns:
        Row and key counts, the number of sampled rows that differ, up to 10 differences, and ``equal``.
    """
    import random

    import duckdb

    from socialflywheel.lake.catalog.stages import USER_FEATURES

    con = duckdb.connect(config={"threads": 2})
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE VIEW ours AS SELECT * FROM read_parquet('{ours}/*.parquet')")
    con.execute(f"CREATE VIEW peer AS SELECT * FROM read_parquet('{peer}/*.parquet')")
    keys = "user_id, as_of_date"

    def one(sql: str) -> int:
        row = con.execute(sql).fetchone()
        return int(row[0]) if row else 0

    result: dict[str, Any] = {
        "rows_ours": one("SELECT count(*) FROM ours"),
        "rows_peer": one("SELECT count(*) FROM peer"),
        "keys_only_in_ours": one(f"SELECT count(*) FROM (SELECT {keys} FROM ours EXCEPT ALL SELECT {keys} FROM peer)"),
        "keys_only_in_peer": one(f"SELECT count(*) FROM (SELECT {keys} FROM peer EXCEPT ALL SELECT {keys} FROM ours)"),
    }
    people = sorted(r[0] for r in con.execute("SELECT DISTINCT user_id FROM ours").fetchall())
    chosen = random.Random(seed).sample(people, min(sample, len(people)))
    con.execute("CREATE TEMP TABLE chosen (user_id VARCHAR)")
    con.executemany("INSERT INTO chosen VALUES (?)", [(u,) for u in chosen])
    names = [c for c in USER_FEATURES.column_names if c not in ("user_id", "as_of_date")]
    cols = ", ".join(f"epoch_us({c}) AS {c}" if c == "last_event_ts" else c for c in names)

    def fetch(view: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
        rows = con.execute(f"SELECT {keys}, {cols} FROM {view} SEMI JOIN chosen USING (user_id)").fetchall()
        return {r[:2]: r[2:] for r in rows}

    a, b = fetch("ours"), fetch("peer")
    diffs: list[dict[str, Any]] = []
    bad = 0
    for key in sorted(a.keys() | b.keys(), key=str):
        if key not in a or key not in b:
            bad += 1
            diffs.append({"key": [str(k) for k in key], "missing_in": "peer" if key in a else "ours"})
            continue
        wrong = [n for n, x, y in zip(names, a[key], b[key], strict=True) if not _same(x, y, rel)]
        if wrong:
            bad += 1
            row_a, row_b = dict(zip(names, a[key], strict=True)), dict(zip(names, b[key], strict=True))
            diffs.append({"key": [str(k) for k in key], **{n: {"ours": row_a[n], "peer": row_b[n]} for n in wrong}})
    result.update(
        sample_users=len(chosen),
        sample_rows=len(a),
        sample_rows_differing=bad,
        differences=diffs[:10],
        rel_tolerance=rel,
    )
    result["equal"] = (
        bad == 0
        and result["rows_ours"] == result["rows_peer"]
        and result["keys_only_in_ours"] == result["keys_only_in_peer"] == 0
    )
    return result


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

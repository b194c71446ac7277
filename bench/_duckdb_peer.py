"""The DuckDB peer of bench/bench_features.py: gold.user_features in DuckDB's own SQL, and the equality check.

DuckDB is the engine one would pick for one machine (issue #17). Its SQL follows the gold.user_features definition
(catalog doc and features/user_features.py), not our Spark code.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from pathlib import Path
from typing import Any

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

"""Session start plus a small Delta write and read on Sail, against classic local Spark on Parquet.

    python bench/bench_foundation.py [--rows 200000] [--repeats 3]

Each engine runs in fresh child processes, so start-up is measured honestly; the medians are compared
as ratios in one run. Classic Spark writes Parquet because Delta jars cannot be fetched here.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import emit, run_child


def child(engine: str, rows: int, out: str) -> None:
    t0 = time.perf_counter()
    from pyspark.sql import SparkSession

    if engine == "sail":
        from pysail.spark import SparkConnectServer

        server = SparkConnectServer(ip="127.0.0.1", port=0)
        server.start(background=True)
        spark = SparkSession.builder.remote("sc://{}:{}".format(*server.listening_address)).getOrCreate()
        fmt = "delta"
    else:
        spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()
        fmt = "parquet"
    spark.range(1).count()
    start = time.perf_counter() - t0
    df = spark.range(rows).selectExpr(
        "id",
        "id % 97 AS user",
        "cast(id * 7 % 1000 AS double) AS dwell",
        "date_add(date'2026-10-01', cast(id % 28 AS int)) AS event_date",
    )
    t1 = time.perf_counter()
    df.write.format(fmt).mode("overwrite").partitionBy("event_date").save(out)
    write = time.perf_counter() - t1
    t2 = time.perf_counter()
    agg = spark.read.format(fmt).load(out).groupBy("user").agg({"dwell": "avg"}).collect()
    read = time.perf_counter() - t2
    assert len(agg) == 97
    spark.stop()
    if engine == "sail":
        server.stop()
    print(json.dumps({"start_s": start, "write_s": write, "read_agg_s": read, "total_s": start + write + read}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", choices=["sail", "classic"])
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.rows, args.out)
        return
    rows = []
    medians = {}
    for engine in ("sail", "classic"):
        runs = []
        for _ in range(args.repeats):
            tmp = tempfile.mkdtemp()
            runs.append(run_child([__file__, "--child", engine, "--rows", str(args.rows), "--out", f"{tmp}/t"]))
            shutil.rmtree(tmp, ignore_errors=True)
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        medians[engine] = med
        rows.append({"engine": engine, "format": "delta" if engine == "sail" else "parquet", "rows": args.rows, **med})
    ratio = {k: medians["classic"][k] / medians["sail"][k] for k in ("start_s", "write_s", "read_agg_s", "total_s")}
    rows.append({"engine": "classic / sail", **{k: v for k, v in ratio.items()}})
    emit("foundation", rows, {"repeats": args.repeats, "speedup_sail_over_classic": ratio})


if __name__ == "__main__":
    main()

"""Submitted by the cluster suite: which Python and which socialflywheel do the executors' tasks use?

    spark-submit ... tests/cluster/probe_env.py OUT.json
Each task parses one landing line with the project's own parser and reports its interpreter prefix and the
file the parser was imported from; the driver writes what the tasks saw to OUT.json.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pandas as pd


def probe(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    import datetime as dt

    import socialflywheel.ingest.parse as parse

    limits = parse.Limits(
        max_text_bytes=10_000,
        max_line_bytes=100_000,
        min_ts=dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
        max_ts=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
    )
    line = json.dumps(
        {"event_id": "e1", "event_type": "view", "user_id": "u1", "post_id": "p1", "ts": "2026-10-01T00:00:00Z"}
    ).encode()
    event = parse.parse_line(line, limits, {})
    for batch in batches:
        yield pd.DataFrame(
            {
                "part": batch["id"].astype("int64"),
                "prefix": sys.prefix,
                "module": parse.__file__,
                "parsed_event_type": event["event_type"],
            }
        )


def main(out: str) -> None:
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.appName("flywheel-env-probe").getOrCreate()
    rows = (
        spark.range(0, 8, numPartitions=4)
        .mapInPandas(probe, "part long, prefix string, module string, parsed_event_type string")
        .dropDuplicates(["prefix"])
        .collect()
    )
    with open(out, "w") as fh:
        json.dump([r.asDict() for r in rows], fh)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])

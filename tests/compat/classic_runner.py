"""Run DataFrame transforms on classic local Spark over Parquet (its own process: no Connect here).

    python tests/compat/classic_runner.py SPEC.json
SPEC: [{"fn": "module:function", "inputs": {"arg": "in.parquet", ...}, "kwargs": {...}, "out": "out.parquet"}, ...]
"""

from __future__ import annotations

import importlib
import json
import sys


def main(spec_path: str) -> None:
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("flywheel-compat")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    for step in json.load(open(spec_path)):
        module, func = step["fn"].split(":")
        fn = getattr(importlib.import_module(module), func)
        frames = {name: spark.read.parquet(path) for name, path in step["inputs"].items()}
        fn(**frames, **step.get("kwargs", {})).write.mode("overwrite").parquet(step["out"])
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])

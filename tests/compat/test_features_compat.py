"""Analytics feature transforms give the same tables on classic Spark and on Sail (one JVM for all)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from tests.compat.conftest import read_parquet_dir

pytestmark = pytest.mark.compat

F = "socialflywheel.features"
K = 2  # small k: the tiny lake's groups are small, and suppression must agree too
# Daily buckets and low thresholds: the tiny lake has ~2 posts an hour, too few for hourly bursts.
TREND = {
    "granularity": "day",
    "baseline_buckets": 3,
    "prior": 2.0,
    "min_score": 2.0,
    "min_count": 2,
    "extend_score": 1.5,
    "max_gap": 1,
}
# Step name -> (function, inputs, keyword arguments, key columns to sort on).
STEPS: dict[str, tuple[str, list[str], dict[str, Any], list[str]]] = {
    "risk": (
        f"{F}.risk:account_risk",
        ["events", "follows"],
        {"window_minutes": 10, "min_others": 5, "threshold": 0.5},
        ["user_id"],
    ),
    "trend_scores": (f"{F}.trends:trend_scores_table", ["events"], TREND, ["hashtag", "bucket_start"]),
    "trends": (f"{F}.trends:trends_table", ["events"], TREND, ["hashtag", "start_ts"]),
    "campaigns": (f"{F}.campaigns:campaign_performance", ["events", "posts"], {"min_users": K}, ["campaign_id", "day"]),
    "sentiment": (f"{F}.sentiment:post_sentiment", ["events"], {}, ["event_id"]),
    "sentiment_aggregates": (
        f"{F}.sentiment:sentiment_aggregates",
        ["sentiment", "posts"],
        {"min_users": K},
        ["group_type", "group_key", "day"],
    ),
    "assign_segments": (f"{F}.segments:assign_segments", ["features"], {}, ["user_id"]),
}


def _close(a: Any, b: Any, *, rel: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=rel, abs_tol=1e-9) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], rel=rel) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) == len(b) and all(isinstance(x, tuple) for x in a):  # Arrow maps read as lists of pairs
            return _close(dict(a), dict(b), rel=rel)
        return len(a) == len(b) and all(_close(x, y, rel=rel) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _rows(path: Path, keys: list[str]) -> list[dict[str, Any]]:
    """Rows sorted by keys; timestamps as UTC microseconds (classic writes them without a zone).

    Sail writes no files for an empty result, so a missing folder reads as no rows.
    """
    import pyarrow as pa

    if not path.exists():
        return []
    table = read_parquet_dir(path)
    schema = pa.schema(
        [pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type) else f for f in table.schema]
    )
    return sorted(table.cast(schema).to_pylist(), key=lambda r: tuple(str(r[k]) for k in keys))


@pytest.fixture(scope="module")
def compat_run(tiny_lake: tuple[FlywheelConfig, Lake], spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Export the tiny lake's silver tables, run every step on Sail here and on classic Spark once."""
    from socialflywheel.features.segments import behaviour_features, feature_columns, fit_segment_centres
    from socialflywheel.features.sentiment import post_sentiment
    from tests.compat.conftest import run_classic

    _cfg, lake = tiny_lake
    tmp = tmp_path_factory.mktemp("compat-features")
    for name in ("events", "follows", "posts"):
        pq.write_table(lake.read_arrow(f"silver.{name}"), tmp / f"{name}.parquet")
    frame = {n: spark.read.parquet(str(tmp / f"{n}.parquet")) for n in ("events", "follows", "posts")}
    # Inputs computed on Sail feed the later steps on both engines (sentiment scores, segment features).
    post_sentiment(frame["events"]).write.mode("overwrite").parquet(str(tmp / "sentiment.parquet"))
    categories = sorted(r[0] for r in frame["posts"].select("category").distinct().collect() if r[0])
    behaviour_features(frame["events"], frame["posts"], categories=categories).write.mode("overwrite").parquet(
        str(tmp / "features.parquet")
    )
    features = spark.read.parquet(str(tmp / "features.parquet"))
    fit = fit_segment_centres(features, columns=feature_columns(features), k=4, seed=1, max_users=10_000)
    steps = {**STEPS, "assign_segments": (*STEPS["assign_segments"][:2], fit, STEPS["assign_segments"][3])}
    run_classic(
        [
            {
                "fn": fn,
                "inputs": {i: str(tmp / f"{i}.parquet") for i in inputs},
                "kwargs": kwargs,
                "out": str(tmp / f"classic-{name}"),
            }
            for name, (fn, inputs, kwargs, _) in steps.items()
        ],
        tmp,
    )
    return tmp, steps


@pytest.mark.parametrize("step", list(STEPS))
def test_feature_transform_matches_classic(step: str, compat_run: Any, spark: Any) -> None:
    import importlib

    tmp, steps = compat_run
    fn_name, inputs, kwargs, keys = steps[step]
    module, func = fn_name.split(":")
    fn = getattr(importlib.import_module(module), func)
    frames = {i: spark.read.parquet(str(tmp / f"{i}.parquet")) for i in inputs}
    fn(**frames, **kwargs).write.mode("overwrite").parquet(str(tmp / f"sail-{step}"))
    classic = _rows(tmp / f"classic-{step}", keys)
    sail = _rows(tmp / f"sail-{step}", keys)
    assert len(classic) > 0, step
    assert len(sail) == len(classic), (step, len(sail), len(classic))
    bad = [(c, s) for c, s in zip(classic, sail, strict=True) if not _close(c, {k: s[k] for k in c}, rel=1e-9)]
    assert not bad, [{k: (c[k], s[k]) for k in c if not _close(c[k], s[k], rel=1e-9)} for c, s in bad[:3]]

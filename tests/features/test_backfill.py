"""Date-scoped runs: a backfill of day D rewrites exactly the gold partitions the daily run of D wrote.

The daily run of D is simulated honestly: the lake then holds only the landing partitions up to D (ingest for D).
Later days are ingested and built, then D is run again (the backfill): every gold table the features job writes
must hold the same rows for D as the daily run left, and the partitions of later days must be left as they were.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_config

from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake

FEATURE_OUTPUTS = sorted(
    name
    for name in CATALOG
    if name.startswith("gold.")
    and not name.startswith(("gold.graph", "gold.people", "gold.recommendation", "gold.features_watermark"))
)


def _same(value: Any) -> Any:
    """A value with floats to 10 significant digits: sums over the same rows read from other files may differ in
    their last bits (summation order), nothing more."""
    if isinstance(value, float):
        return float(f"{value:.10g}")
    if isinstance(value, dict):
        return {k: _same(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_same(v) for v in value]
    return value


def _rows(lake: Lake, name: str, *, after: dt.date | None = None, until: dt.date | None = None) -> list[dict[str, Any]]:
    """A table's rows in key order (partitioned-by-day tables: only the days in range)."""
    t = CATALOG[name]
    data = lake.read_arrow(name)
    column = t.period_column if t.period_column in t.partition_by else None
    rows = [_same(r) for r in data.to_pylist()]
    if column is not None:
        rows = [r for r in rows if (until is None or r[column] <= until) and (after is None or r[column] > after)]
    keys = list(t.keys) or list(t.column_names)
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))


def _by_day(name: str) -> bool:
    t = CATALOG[name]
    return t.period_column is not None and t.period_column in t.partition_by


def _features(spark: Any, lake: Lake, cfg: Any, day: dt.date) -> Any:
    from socialflywheel.features.job import run_features

    return run_features(spark, lake.bounded(day), cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)


@pytest.mark.slow
def test_a_backfill_of_a_day_reproduces_the_gold_partitions_its_daily_run_wrote(
    spark: Any, tiny_lake: Any, tmp_path: Path
) -> None:
    from socialflywheel.ingest import run_conform, run_ingest
    from socialflywheel.ingest.landing import landing_day

    src_cfg = tiny_lake[0]
    cfg = make_config(tmp_path / "work", "simulate.profile=tiny")
    shutil.copytree(src_cfg.landing_dir, cfg.landing_dir)
    days = sorted({d for p in Path(cfg.landing_dir).rglob("*.jsonl") if (d := landing_day(str(p))) is not None})
    assert len(days) >= 10, days
    day, last = days[len(days) * 2 // 3], days[-1]
    lake = Lake.from_config(cfg)

    # The daily run of `day`: only the landing partitions up to it exist in the lake.
    daily = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy, until=day)
    run_conform(spark, lake, cfg.privacy)
    assert max(lake.read_arrow("silver.events", columns=["event_date"]).column("event_date").to_pylist()) == day
    first = _features(spark, lake, cfg, day)
    assert first.mode == "full"
    written = {name: _rows(lake, name) for name in FEATURE_OUTPUTS}
    assert all(written[n] for n in ("gold.user_features", "gold.training_examples", "gold.hashtag_trend_scores"))

    # Later days arrive and are built.
    rest = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy, until=None)
    assert daily.rows_in > 0 and rest.rows_in > 0
    run_conform(spark, lake, cfg.privacy)
    _features(spark, lake, cfg, last)
    later = {name: _rows(lake, name, after=day) for name in FEATURE_OUTPUTS if _by_day(name)}
    assert later["gold.user_features"], "the run of the last day wrote no partition after the backfilled day"

    # Streaming readers (training's shard preparation) get only the files of the days up to the bound.
    import pyarrow.parquet as pq

    _fs, paths, _ = lake.bounded(day).data_files("gold.training_examples") or (None, [], 0)
    assert paths and len(paths) < len((lake.data_files("gold.training_examples") or (None, [], 0))[1])
    assert sum(pq.read_metadata(p).num_rows for p in paths) == len(_rows(lake, "gold.training_examples", until=day))

    # The backfill of `day` on the full lake.
    again = _features(spark, lake, cfg, day)
    assert again.mode == "incremental"  # the last run was for another day: this day is rebuilt
    for name in FEATURE_OUTPUTS:
        assert _rows(lake, name, until=day) == written[name], f"{name}: the backfill of {day} differs from its run"
        if _by_day(name):  # snapshot tables are rebuilt whole, as of the day
            assert _rows(lake, name, after=day) == later[name], f"{name}: the backfill of {day} touched a later day"

"""An incremental features run rewrites only the partitions the new day touches and equals a full recompute."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.conftest import copy_lake, make_config

from socialflywheel.lake.io import Lake

OVERRIDES = ("simulate.profile=tiny", "features.test_days=1", "features.validation_days=1")
TABLES = {
    "gold.user_features": ("as_of_date", ["user_id", "as_of_date"]),
    "gold.item_features": ("as_of_date", ["post_id", "as_of_date"]),
    "gold.training_examples": ("event_date", ["event_id"]),
}
MINE = (*TABLES, "gold.features_watermark")


def _fresh(work: Path) -> tuple[Any, Lake]:
    """Config and lake of a copied work dir, without any features output a shared lake may hold."""
    cfg = make_config(work, *OVERRIDES)
    lake = Lake.from_config(cfg)
    for name in MINE:
        shutil.rmtree(lake.path(name), ignore_errors=True)
    return cfg, lake


def _files(lake: Lake, name: str, column: str, version: int) -> dict[str, dt.date]:
    from deltalake import DeltaTable

    acts = pa.table(DeltaTable(lake.path(name), version=version).get_add_actions(flatten=True))
    parts = [dt.date.fromisoformat(str(d)) for d in acts.column(f"partition.{column}").to_pylist()]
    return dict(zip(acts.column("path").to_pylist(), parts, strict=True))


def _commit_actions(lake: Lake, name: str, version: int, column: str) -> dict[str, list[dt.date]]:
    """Partition dates of the files a commit added and removed, read from its Delta log entry."""
    out: dict[str, list[dt.date]] = {"add": [], "remove": []}
    log = Path(lake.path(name)) / "_delta_log" / f"{version:020d}.json"
    for line in log.read_text().splitlines():
        action = json.loads(line)
        for kind in ("add", "remove"):
            if kind in action:
                out[kind].append(dt.date.fromisoformat(action[kind]["partitionValues"][column]))
    return out


def _sorted(table: pa.Table, keys: list[str]) -> list[dict[str, Any]]:
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


@pytest.fixture(scope="module")
def runs(spark: Any, tiny_lake: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from pyspark.sql import functions as F

    from socialflywheel.features import job

    tmp = tmp_path_factory.mktemp("incremental")
    copied, _ = copy_lake(tiny_lake[0], tmp / "inc")
    cfg, lake = _fresh(copied.work_path)
    patch = pytest.MonkeyPatch()
    patch.setattr(job, "part_a_steps", tuple)  # part A is rebuilt in full each run; test part B alone
    try:
        last = max(lake.read_arrow("silver.events", columns=["event_date"]).column("event_date").to_pylist())
        held = lake.read(spark, "silver.events").where(F.col("event_date") == F.lit(last))
        held.write.parquet(str(tmp / "held"))
        lake.delta("silver.events").delete(f"event_date = '{last}'")
        first = job.run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
        before = {name: lake.version(name) for name in TABLES}
        lake.append(spark.read.parquet(str(tmp / "held")), "silver.events")
        shutil.copytree(copied.work_path, tmp / "full")
        second = job.run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
        cfg_full, lake_full = _fresh(tmp / "full")
        full = job.run_features(
            spark, lake_full, cfg_full.features, k=cfg_full.privacy.min_group_users, seed=cfg_full.seed
        )
    finally:
        patch.undo()
    return {
        "last": last,
        "first": first,
        "second": second,
        "full": full,
        "lake": lake,
        "lake_full": lake_full,
        "before": before,
    }


def test_modes_and_first_rebuilt_dates(runs: dict) -> None:
    last = runs["last"]
    assert runs["first"].mode == "full" and runs["full"].mode == "full"
    assert runs["second"].mode == "incremental"
    assert runs["second"].features_since == last.isoformat()
    # labels may use the next day's events; test/val (1 day each) moved by one day: from last - 2
    assert runs["second"].examples_since == (last - dt.timedelta(days=2)).isoformat()


@pytest.mark.parametrize("name", list(TABLES))
def test_history_shows_only_affected_partitions_rewritten(runs: dict, name: str) -> None:
    from socialflywheel.lake.maintenance import history

    lake, column = runs["lake"], TABLES[name][0]
    key = "features_since" if column == "as_of_date" else "examples_since"
    since = dt.date.fromisoformat(getattr(runs["second"], key))
    old, new = runs["before"][name], lake.version(name)
    assert new == old + 1  # one commit per table
    commit = history(lake, name, limit=1)[0]
    assert commit["operationParameters"]["predicate"] == f"{column} >= '{since}'"
    actions = _commit_actions(lake, name, new, column)
    assert actions["add"] and all(d >= since for d in actions["add"])
    before, after = _files(lake, name, column, old), _files(lake, name, column, new)
    # removed: exactly the old files of the rewritten partitions (none when only the new day is rebuilt)
    assert set(actions["remove"]) == {d for d in before.values() if d >= since}
    assert len(actions["remove"]) == sum(d >= since for d in before.values())
    if name == "gold.training_examples":
        assert len(set(actions["remove"])) == 2  # the two days whose split or next-day labels changed
    kept_before = {p for p, d in before.items() if d < since}
    assert kept_before and kept_before == {p for p, d in after.items() if d < since}  # untouched files


@pytest.mark.parametrize("name", list(TABLES))
def test_incremental_equals_full_recompute(runs: dict, name: str) -> None:
    keys = TABLES[name][1]
    got = _sorted(runs["lake"].read_arrow(name), keys)
    want = _sorted(runs["lake_full"].read_arrow(name), keys)
    assert len(got) == len(want) > 0
    assert got == want

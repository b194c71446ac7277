"""run_features on a copy of the tiny lake: full, then noop, then full again after a config change."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import copy_lake, make_config

from socialflywheel.lake.io import Lake

OUTPUTS = ("gold.user_features", "gold.item_features", "gold.training_examples", "gold.features_watermark")


@pytest.fixture(scope="module")
def job_runs(spark: Any, tiny_lake: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from socialflywheel.features.job import run_features

    copied, _ = copy_lake(tiny_lake[0], tmp_path_factory.mktemp("job") / "w")
    cfg = make_config(copied.work_path, "simulate.profile=tiny")
    lake = Lake.from_config(cfg)
    for name in OUTPUTS:
        shutil.rmtree(lake.path(name), ignore_errors=True)
    first = run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    versions = {name: lake.version(name) for name in OUTPUTS}
    mark = lake.read_arrow("gold.features_watermark").to_pylist()
    example = lake.read_arrow("gold.training_examples", columns=["user_features", "item_features"]).slice(0, 1)
    tables = {
        name: lake.read_arrow(name, columns=["as_of_date" if "features" in name else "event_id"]).num_rows
        for name in OUTPUTS[:3]
    }
    again = run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    versions_again = {name: lake.version(name) for name in OUTPUTS}
    changed = make_config(copied.work_path, "simulate.profile=tiny", "features.windows_days=[1,7]")
    third = run_features(
        spark, Lake.from_config(changed), changed.features, k=changed.privacy.min_group_users, seed=changed.seed
    )
    return {
        "mark": mark,
        "example": example,
        "tables": tables,
        "lake": lake,
        "first": first,
        "again": again,
        "third": third,
        "v": versions,
        "v2": versions_again,
    }


def test_first_run_is_full_and_summarized(job_runs: dict) -> None:
    s, lake = job_runs["first"], job_runs["lake"]
    assert s.mode == "full"
    assert s.rows_in == lake.read_arrow("silver.events", columns=["event_id"]).num_rows
    for name in OUTPUTS[:3]:
        assert s.tables[name] == job_runs["tables"][name] > 0
    assert s.rows_out >= sum(s.tables.values())
    mark = job_runs["mark"]
    assert len(mark) == 1 and mark[0]["mode"] == "full"
    assert mark[0]["categories"] == sorted(set(lake.read_arrow("silver.posts").column("category").to_pylist()))
    assert mark[0]["silver_events_version"] == lake.version("silver.events")
    vec = job_runs["example"]
    assert len(vec.column("user_features")[0]) == len(mark[0]["user_feature_names"])
    assert len(vec.column("item_features")[0]) == len(mark[0]["item_feature_names"])


def test_every_part_a_step_ran_and_wrote_its_tables(job_runs: dict) -> None:
    """Each listed step ran (in order) and its tables exist with rows; no step can be skipped silently."""
    from socialflywheel.features.job import part_a_steps

    s, lake = job_runs["first"], job_runs["lake"]
    assert list(s.part_a) == [step.name for step in part_a_steps()]
    for name in ("gold.account_risk", "gold.hashtag_trends", "gold.post_sentiment", "gold.segments"):
        assert lake.exists(name) and lake.read_arrow(name).num_rows > 0, name


def test_risky_accounts_left_out(job_runs: dict) -> None:
    lake = job_runs["lake"]
    assert lake.exists("gold.account_risk")
    risk = lake.read_arrow("gold.account_risk", columns=["user_id", "is_risky"]).to_pylist()
    risky = {r["user_id"] for r in risk if r["is_risky"]}
    assert risky, "the tiny lake plants bots: some accounts should be risky"
    ex = lake.read_arrow("gold.training_examples", columns=["user_id", "author_id"]).to_pylist()
    assert not any(r["user_id"] in risky or r["author_id"] in risky for r in ex)


def test_rerun_without_new_events_is_a_noop(job_runs: dict) -> None:
    assert job_runs["again"].mode == "noop"
    assert job_runs["v2"] == job_runs["v"]


def test_config_change_forces_full_rebuild(job_runs: dict) -> None:
    lake: Lake = job_runs["lake"]
    assert job_runs["third"].mode == "full"
    counts = lake.read_arrow("gold.user_features", columns=["event_counts"]).column("event_counts")[0].as_py()
    assert {k for k, _ in counts if k.startswith("view_")} == {"view_1d", "view_7d"}


def test_path_helpers(tmp_path: Path) -> None:
    from socialflywheel.features.job import last_watermark

    assert last_watermark(Lake(str(tmp_path))) is None

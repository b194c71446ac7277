"""#16 item 8: a damaged table is named, with the fix, before anything reads it as if it were whole.

Before: with a commit file missing, delta-rs readers read a partial table without error; with bronze's latest
commit lost, ``ingest`` said "no new landing files" and the batch's rows were never taken again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.lake.integrity import DamagedLake, check, log_problem
from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintain import run_maintain

FLYWHEEL = Path(sys.executable).parent / "flywheel"


def _day(cfg: FlywheelConfig, day: int) -> None:
    lines = [
        json.dumps(
            {
                "event_id": f"d{day}-{i}",
                "event_type": "view",
                "user_id": f"u{i % 5}",
                "post_id": f"p{i % 4}",
                "ts": f"2026-10-0{day}T10:00:00Z",
                "dwell_ms": 100 + i,
            }
        )
        for i in range(20)
    ]
    path = cfg.landing_dir / "events" / f"day{day}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def _three_days(spark: Any, cfg: FlywheelConfig, lake: Lake) -> None:
    for day in (1, 2, 3):
        _day(cfg, day)
        run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
        run_conform(spark, lake, cfg.privacy)


def _commit(lake: Lake, name: str, version: int) -> Path:
    return Path(lake.path(name)) / "_delta_log" / f"{version:020d}.json"


def test_an_intact_lake_has_no_problem_even_after_log_clean_up(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    _three_days(spark, work, lake)
    assert check(lake) == []
    work.maintain.log_retention_hours = 0
    work.maintain.vacuum_retention_hours = 0
    run_maintain(spark, lake, work.maintain, retention=work.privacy.retention_days)
    assert not _commit(lake, "bronze.events", 0).exists()  # commits before the checkpoint went
    assert check(lake) == []


def test_a_hole_in_a_log_is_named_and_refused(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Mutation tried: taking the versions from the newest commit down without looking for gaps misses it."""
    _three_days(spark, work, lake)
    newest = lake.version("silver.events")
    assert newest is not None and newest >= 2
    _commit(lake, "silver.events", 1).unlink()
    problem = log_problem(lake, "silver.events")
    assert problem is not None and "lacks commit(s) 1 of versions 0.." in problem.what
    assert "RESTORE the table to version 0" in problem.fix
    assert [p.table for p in check(lake)] == ["silver.events"]
    from socialflywheel.runs import execute_job

    with pytest.raises(DamagedLake, match=r"features refused, the lake is damaged: silver\.events: its Delta log"):
        execute_job("features", work)


def test_a_lost_bronze_commit_is_found_from_the_bookkeeping(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """The newest bronze commit gone (and its checksum file): the log has no hole, but bronze.batches says the
    batch added rows. With the checksum file left behind, the log check names the lost commit instead."""
    _three_days(spark, work, lake)
    newest = lake.version("bronze.events")
    assert newest is not None
    _commit(lake, "bronze.events", newest).unlink()
    crc = _commit(lake, "bronze.events", newest).with_suffix(".crc")
    if crc.exists():
        problem = log_problem(lake, "bronze.events")
        assert problem is not None and f"lacks commit(s) {newest} " in problem.what
        crc.unlink()
    problems = check(lake)
    assert [p.table for p in problems] == ["bronze.events"]
    assert "1 batch(es) recorded as adding rows have none in the table" in problems[0].what
    out = subprocess.run(
        [str(FLYWHEEL), "check", "--set", f"work_dir={work.work_path}"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("bronze.events: 1 batch(es)") and "run `flywheel ingest` again" in line

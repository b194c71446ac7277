"""Data-quality gates on hand-made landing folders with known row counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from socialflywheel.quality import FAILED, check_freshness, check_volume, count_rows, main

D = dt.date(2026, 10, 10)


def land(root: Path, day: dt.date, rows: int, *, parts: int = 1, newline_at_end: bool = True) -> None:
    folder = root / "events" / f"date={day.isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    per = rows // parts
    for p in range(parts):
        n = per if p < parts - 1 else rows - per * (parts - 1)
        body = "\n".join('{"event_id": "e"}' for _ in range(n))
        (folder / f"part-{p:05d}.jsonl").write_text(body + ("\n" if newline_at_end and n else ""))


def test_count_rows_counts_a_last_line_without_newline(tmp_path: Path) -> None:
    land(tmp_path, D, 5, parts=2, newline_at_end=False)
    assert count_rows(sorted((tmp_path / "events" / f"date={D}").glob("*.jsonl"))) == 5


@pytest.mark.parametrize(("newest_days_before", "passed"), [(0, True), (1, True), (2, False)])
def test_freshness_against_the_logical_date(tmp_path: Path, newest_days_before: int, passed: bool) -> None:
    land(tmp_path, D - dt.timedelta(days=newest_days_before), 10)
    land(tmp_path, D + dt.timedelta(days=3), 10)  # later partitions never make a backfilled date fresh
    result = check_freshness(tmp_path, D, max_lag_days=1)
    assert result.passed is passed
    assert result.details["lag_days"] == newest_days_before
    if not passed:
        assert result.message.startswith(f"{FAILED}: freshness: landing data is stale")


def test_freshness_fails_on_an_empty_landing_folder(tmp_path: Path) -> None:
    result = check_freshness(tmp_path, D)
    assert not result.passed and "no landing data" in result.message


@pytest.mark.parametrize(("today", "passed"), [(1000, True), (499, False), (500, True), (2000, True), (2001, False)])
def test_volume_ratio_to_the_trailing_mean(tmp_path: Path, today: int, passed: bool) -> None:
    for k, rows in enumerate([900, 1100, 1000, 950, 1050, 1000, 1000], start=1):  # mean 1000
        land(tmp_path, D - dt.timedelta(days=k), rows)
    land(tmp_path, D - dt.timedelta(days=8), 50_000)  # outside the 7-day window
    land(tmp_path, D, today, parts=3)
    result = check_volume(tmp_path, D, trailing_days=7, min_ratio=0.5, max_ratio=2.0)
    assert result.details["trailing_mean"] == 1000
    assert result.passed is passed, result.message
    if not passed:
        assert f"{today} rows landed for {D}" in result.message


def test_volume_with_little_history_checks_only_that_rows_landed(tmp_path: Path) -> None:
    land(tmp_path, D - dt.timedelta(days=1), 10)
    assert check_volume(tmp_path, D, min_history_days=3).passed is False  # nothing landed today
    land(tmp_path, D, 99_999)
    result = check_volume(tmp_path, D, min_history_days=3)
    assert result.passed and "ratio not checked" in result.message


def test_main_exit_codes_and_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    land(tmp_path, D - dt.timedelta(days=5), 10)
    assert main(["freshness", "--landing-dir", str(tmp_path), "--date", D.isoformat()]) == 1
    assert "QUALITY GATE FAILED: freshness" in capsys.readouterr().err
    assert main(["freshness", "--landing-dir", str(tmp_path), "--date", D.isoformat(), "--max-lag-days", "5"]) == 0
    assert main(["volume", "--conf", str(tmp_path / "missing.yaml"), "--date", D.isoformat()]) == 2


def test_main_reads_the_landing_folder_from_the_config(tmp_path: Path) -> None:
    land(tmp_path / "landing", D, 10)
    assert main(["freshness", "--set", f"work_dir={tmp_path}", "--date", D.isoformat()]) == 0

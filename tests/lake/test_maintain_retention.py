"""`flywheel maintain` applies exactly the configured retention: old partitions go, recent ones and nulls stay."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from tests.conftest import make_config

from socialflywheel.config import ConfigError
from socialflywheel.config.models import RetentionConfig
from socialflywheel.lake.catalog import table
from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintain import run_maintain

TODAY = dt.datetime.now(dt.UTC).date()
AGES = [1, 10, 500]  # days before today


def seed_bronze(lake: Lake) -> None:
    """bronze.events and bronze.quarantine with one row per age (written by delta-rs: no Spark needed)."""
    events = table("bronze.events")
    rows = [{"event_id": f"e{age}", "event_date": TODAY - dt.timedelta(days=age)} for age in AGES]
    lake.write_arrow(pa.Table.from_pylist(rows, schema=events.schema), "bronze.events")
    quarantine = table("bronze.quarantine")
    rows = [{"reason": f"q{age}", "ingest_date": TODAY - dt.timedelta(days=age)} for age in AGES]
    lake.write_arrow(pa.Table.from_pylist(rows, schema=quarantine.schema), "bronze.quarantine")


def ages_left(lake: Lake, name: str, column: str) -> list[int]:
    dates = lake.read_arrow(name).column(column).to_pylist()
    return sorted((TODAY - d).days for d in dates)


def test_retention_expires_old_partitions_only(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "w", "privacy.retention_days={bronze: 400, quarantine: 5}")
    lake = Lake.from_config(cfg)
    seed_bronze(lake)
    result = run_maintain(None, lake, cfg.maintain, retention=cfg.privacy.retention_days)  # type: ignore[arg-type]  # maintain goes through delta-rs
    assert ages_left(lake, "bronze.events", "event_date") == [1, 10]
    assert ages_left(lake, "bronze.quarantine", "ingest_date") == [1]
    assert result.expired_rows == 3


def test_null_retention_keeps_everything(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "w", "privacy.retention_days={bronze: null, quarantine: null}")
    lake = Lake.from_config(cfg)
    seed_bronze(lake)
    run_maintain(None, lake, cfg.maintain, retention=cfg.privacy.retention_days)  # type: ignore[arg-type]
    assert ages_left(lake, "bronze.events", "event_date") == AGES
    assert ages_left(lake, "bronze.quarantine", "ingest_date") == AGES


def test_a_negative_retention_never_reaches_the_lake(tmp_path: Path) -> None:
    """Before: ``privacy.retention_days.bronze=-5`` loaded, and maintain deleted every row of bronze.events (the cutoff
    was five days in the future). Now the config refuses it, and a model forged past validation stops maintain
    before its first delete."""
    with pytest.raises(ConfigError, match=r"privacy\.retention_days\.bronze"):
        make_config(tmp_path / "w", "privacy.retention_days.bronze=-5")
    cfg = make_config(tmp_path / "w")
    lake = Lake.from_config(cfg)
    seed_bronze(lake)
    object.__setattr__(cfg.privacy, "retention_days", RetentionConfig.model_construct(bronze=-5, quarantine=1))
    with pytest.raises(ValueError, match="at least one day"):
        run_maintain(None, lake, cfg.maintain, retention=cfg.privacy.retention_days)  # type: ignore[arg-type]
    assert ages_left(lake, "bronze.events", "event_date") == AGES
    assert ages_left(lake, "bronze.quarantine", "ingest_date") == AGES

"""The notebooks' counts on the configured engine or through delta-rs give the same figures (#19)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from socialflywheel import notebook
from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake


@pytest.mark.parametrize(
    ("name", "keys", "bounded"),
    [
        ("silver.events", ["event_date", "event_type"], True),
        ("silver.events", ["event_type"], False),
        ("bronze.quarantine", ["reason"], False),
    ],
)
def test_spark_and_delta_rs_count_alike(
    tiny_lake: tuple[FlywheelConfig, Lake], spark: Any, name: str, keys: list[str], bounded: bool
) -> None:
    cfg, lake = tiny_lake
    days = sorted(lake.read_arrow("silver.events", columns=["event_date"]).column("event_date").to_pylist())
    start, end = (str(days[len(days) // 3]), str(days[2 * len(days) // 3])) if bounded else (None, None)
    on_spark, used = notebook.count_by(cfg, lake, name, keys, start=start, end=end, engine="spark")
    on_arrow, used_arrow = notebook.count_by(cfg, lake, name, keys, start=start, end=end, engine="delta-rs")
    assert (used, used_arrow) == ("spark", "delta-rs")
    norm = [df.astype({k: str for k in keys}).astype({"count": int}) for df in (on_spark, on_arrow)]
    assert norm[0].sort_values(keys, ignore_index=True).equals(norm[1].sort_values(keys, ignore_index=True))
    assert int(on_arrow["count"].sum()) == notebook.rows_in(lake, name, start=start, end=end) > 0


def test_auto_counts_big_reads_on_the_engine(
    tiny_lake: tuple[FlywheelConfig, Lake], spark: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, lake = tiny_lake
    assert notebook.count_by(cfg, lake, "silver.events", ["event_type"])[1] == "delta-rs"  # small: the driver
    monkeypatch.setattr(notebook, "BIG_READ_ROWS", 0)
    assert notebook.count_by(cfg, lake, "silver.events", ["event_type"])[1] == "spark"


def test_rows_in_reads_no_data(tmp_path: Path) -> None:
    from tests.conftest import make_config

    assert notebook.rows_in(Lake.from_config(make_config(tmp_path)), "silver.events") == 0  # no table yet

"""Driver-side Arrow tables reach Spark at any size (lake/staged.py): past Spark Connect's 128 MiB plan limit the
table is staged as Parquet under the lake, read from there, and removed when the block ends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from tests.conftest import make_config

from socialflywheel.lake.io import Lake
from socialflywheel.lake.staged import arrow_frame


def _lake(tmp_path: Path) -> Lake:
    return Lake.from_config(make_config(tmp_path / "w"))


def _table(rows: int, width: int) -> pa.Table:
    ids = np.arange(rows)
    pad = "x" * width
    return pa.table({"id": ids, "text": pa.array([f"{i:010d}{pad}" for i in ids], pa.string())})


@pytest.mark.parametrize("inline_limit", [0, 1 << 40])
def test_a_table_comes_back_whole_staged_or_inlined(spark: Any, tmp_path: Path, inline_limit: int) -> None:
    lake = _lake(tmp_path)
    data = _table(5000, 20)
    staging = Path(lake.root) / "_staging"
    with arrow_frame(spark, lake, data, inline_limit=inline_limit) as frame:
        back = frame.toArrow().sort_by("id")
        assert (staging.exists() and any(staging.iterdir())) == (inline_limit == 0)
    assert back.select(["id", "text"]).equals(data)
    assert not staging.exists() or not any(staging.iterdir())  # nothing left behind


def test_a_table_past_the_plan_limit_is_written(spark: Any, tmp_path: Path) -> None:
    """~150 MB of rows: inlined, Spark Connect refuses the plan; through arrow_frame it is written whole."""
    lake = _lake(tmp_path)
    data = _table(1_200_000, 110)
    assert data.nbytes > 128 << 20
    with pytest.raises(Exception, match="larger than max"):
        spark.createDataFrame(data).count()
    with arrow_frame(spark, lake, data) as frame:
        frame.write.mode("overwrite").parquet(str(tmp_path / "out"))
    out = spark.read.parquet(str(tmp_path / "out"))
    assert out.count() == data.num_rows
    assert out.agg({"id": "sum"}).collect()[0][0] == sum(range(data.num_rows))

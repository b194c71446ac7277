"""``spark.sail_memory_gb``: Sail runs with a bounded, spilling memory pool and computes the same snapshots.

Sail reads its pool settings once, when its server starts, so the bounded run is a separate process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.ipc as ipc
import pytest

from socialflywheel.features.job import category_vocabulary
from socialflywheel.features.user_features import user_features

BOUNDED = """
import sys
import pyarrow.ipc as ipc
from socialflywheel.config import load_config
from socialflywheel.features.job import category_vocabulary
from socialflywheel.features.user_features import user_features
from socialflywheel.lake.io import Lake
from socialflywheel.spark import get_session

cfg = load_config(overrides=[f"work_dir={sys.argv[1]}", "simulate.profile=tiny", "spark.sail_memory_gb=0.3"])
lake = Lake.from_config(cfg)
spark = get_session(cfg)
df = user_features(
    lake.read(spark, "silver.events"),
    lake.read(spark, "silver.posts"),
    windows_days=cfg.features.windows_days,
    categories=category_vocabulary(lake),
    session_gap_minutes=cfg.features.session_gap_minutes,
)
table = df.toArrow()
with ipc.new_file(sys.argv[2], table.schema) as out:
    out.write_table(table)
print((cfg.work_path / "_spill").is_dir())
"""


def _sorted(table: pa.Table) -> list[dict[str, Any]]:
    return table.sort_by([("user_id", "ascending"), ("as_of_date", "ascending")]).to_pylist()


def test_bounded_pool_computes_the_same_user_features(spark: Any, tiny_lake: Any, tmp_path: Path) -> None:
    cfg, lake = tiny_lake
    out = tmp_path / "bounded.arrow"
    run = subprocess.run(
        [sys.executable, "-c", BOUNDED, str(cfg.work_path), str(out)], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().endswith("True")  # the pool's spill folder under the work directory
    bounded = ipc.open_file(out).read_all()
    fc = cfg.features
    unbounded = user_features(
        lake.read(spark, "silver.events"),
        lake.read(spark, "silver.posts"),
        windows_days=fc.windows_days,
        categories=category_vocabulary(lake),
        session_gap_minutes=fc.session_gap_minutes,
    ).toArrow()
    assert bounded.num_rows == unbounded.num_rows > 0
    got, want = _sorted(bounded), _sorted(unbounded)
    for g, w in zip(got, want, strict=True):
        assert g.keys() == w.keys()
        for c in w:
            assert g[c] == pytest.approx(w[c]) if isinstance(w[c], float) else g[c] == w[c], (c, g, w)

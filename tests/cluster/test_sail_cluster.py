"""Sail's own distributed mode: the feature job on Sail in local-cluster mode (driver and workers over RPC)
gives the same gold tables as Sail's local mode, so a user scaling out on Sail has a tested path too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.cluster.submit import submit_env
from socialflywheel.lake.catalog import CATALOG
from tests.cluster.compare import assert_same_rows
from tests.conftest import REPO, copy_lake

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_features_on_sail_local_cluster_equal_local_mode(tiny_lake: Any, sail_lake: Any, tmp_path: Path) -> None:
    cfg, lake = copy_lake(tiny_lake[0], tmp_path / "work")
    flywheel = Path(sys.executable).with_name("flywheel")
    sets = [f"work_dir={cfg.work_path}", "spark.sail_mode=local-cluster"]
    out = subprocess.run(
        [
            str(flywheel),
            "features",
            "--conf",
            str(REPO / "conf" / "local.yaml"),
            *(a for s in sets for a in ("--set", s)),
        ],
        cwd=REPO,
        env=submit_env(),  # a fresh process: its own Sail server, started in local-cluster mode
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "mode local-cluster" in " ".join(out.stderr.split())
    gold = sorted(
        n for n in CATALOG if n.startswith("gold.") and sail_lake[1].exists(n) and n != "gold.graph_centrality"
    )
    compared = [n for n in gold if lake.exists(n)]
    assert len(compared) >= 8, compared
    for name in compared:
        assert_same_rows(name, lake.read_arrow(name), sail_lake[1].read_arrow(name))

"""The compat suite: the same transforms on classic local Spark and on Sail must agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import java_or_fail

RUNNER = Path(__file__).with_name("classic_runner.py")
REPO = Path(__file__).resolve().parents[2]


def run_classic(steps: list[dict[str, Any]], tmp: Path) -> None:
    """Run transform steps in a classic Spark subprocess (Java 17)."""
    java_or_fail()
    spec = tmp / "spec.json"
    spec.write_text(json.dumps(steps))
    out = subprocess.run(
        [sys.executable, str(RUNNER), str(spec)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env=classic_env(),
    )
    assert out.returncode == 0, out.stderr[-3000:]


def classic_env() -> dict[str, str]:
    """The environment without the Spark Connect switches a Sail session sets in this process."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SPARK_CONNECT_MODE_ENABLED", "SPARK_REMOTE", "SPARK_LOCAL_REMOTE")
    }
    env["PYTHONPATH"] = str(REPO)
    # Classic Spark's Python workers start `python3` from PATH unless told: use this interpreter (the venv's).
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    return env


def sorted_table(table: pa.Table) -> pa.Table:
    keys = [(c, "ascending") for c in table.column_names if not pa.types.is_nested(table.schema.field(c).type)]
    return table.sort_by(keys)


def read_parquet_dir(path: Path) -> pa.Table:
    return pq.read_table(path)


@pytest.fixture
def classic() -> Any:
    return run_classic

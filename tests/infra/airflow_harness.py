"""Helpers for the Airflow tests: the Airflow venv, an isolated AIRFLOW_HOME, and reading run states."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "infra" / "airflow" / "dags"
AIRFLOW_VENV = Path(os.environ.get("AIRFLOW_VENV", REPO / ".venv-airflow"))
PROJECT_BIN = Path(sys.executable).parent
DAILY_JOBS = ["ingest", "conform", "features", "graph", "train", "recommend", "report"]


def ensure_airflow_venv() -> Path:
    """Create (or leave as is) the Airflow venv with scripts/airflow_venv.sh; return its ``airflow``.

    The install runs from the test command. A failed install fails under CI=true, else skips.
    """
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "airflow_venv.sh"), str(AIRFLOW_VENV)],
        capture_output=True,
        text=True,
        check=False,
    )
    airflow = AIRFLOW_VENV / "bin" / "airflow"
    if proc.returncode != 0 or not airflow.exists():
        tail = (proc.stdout + proc.stderr)[-2000:]
        if os.environ.get("CI"):
            pytest.fail(f"could not create the Airflow venv {AIRFLOW_VENV}:\n{tail}")
        pytest.skip(f"no Airflow venv ({AIRFLOW_VENV}): {tail[-300:]}")
    return airflow


@dataclass
class AirflowHome:
    """An isolated Airflow installation state: AIRFLOW_HOME, SQLite metadata DB and the flywheel settings."""

    airflow: Path
    home: Path
    work: Path
    env: dict[str, str]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``airflow ARGS`` with this home; stdout and stderr together in ``stdout``."""
        return subprocess.run(
            [str(self.airflow), *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )

    def task_states(self, dag_id: str, logical_date: str) -> dict[str, str]:
        """Task id -> state of the latest run of ``dag_id`` for ``logical_date`` (YYYY-MM-DD)."""
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT run_id FROM dag_run WHERE dag_id = ? AND logical_date LIKE ? ORDER BY id DESC LIMIT 1",
                (dag_id, f"{logical_date}%"),
            ).fetchone()
            assert row is not None, f"no run of {dag_id} for {logical_date}"
            rows = db.execute(
                "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ?", (dag_id, row[0])
            ).fetchall()
        return {task_id: state for task_id, state in rows}

    def run_state(self, dag_id: str, logical_date: str) -> str:
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT state FROM dag_run WHERE dag_id = ? AND logical_date LIKE ? ORDER BY id DESC LIMIT 1",
                (dag_id, f"{logical_date}%"),
            ).fetchone()
        return str(row[0]) if row else "missing"


def airflow_env(home: Path, work: Path) -> dict[str, str]:
    """Environment of the Airflow commands: offline SQLite home, the repo's DAGs, the cli runner on ``work``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__", "FLYWHEEL_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        PYTHONDONTWRITEBYTECODE="1",
        FLYWHEEL_RUNNER="cli",
        FLYWHEEL_BIN=str(PROJECT_BIN / "flywheel"),
        FLYWHEEL_PY=sys.executable,
        FLYWHEEL_CONF=str(REPO / "conf" / "local.yaml"),
        FLYWHEEL_SETS=f"work_dir={work}",
        FLYWHEEL_SKIP_MISSING="0",  # a job the CLI lacks fails its task: no test passes by skipping
        FLYWHEEL_RETRIES="0",
    )
    return env

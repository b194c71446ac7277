"""Every job answers --help from jobs/<job>.py and from `flywheel <job>`; doctor and tables run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from socialflywheel.jobs_registry import JOBS

REPO = Path(__file__).resolve().parents[1]
FLYWHEEL = Path(sys.executable).parent / "flywheel"


@pytest.mark.parametrize("job", sorted(JOBS))
def test_job_help(job: str) -> None:
    assert (REPO / "jobs" / f"{job}.py").exists(), f"jobs/{job}.py is missing"
    for argv in ([sys.executable, f"jobs/{job}.py", "--help"], [str(FLYWHEEL), job, "--help"]):
        out = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "--conf" in out.stdout and "--set" in out.stdout


def test_help_is_fast_and_imports_nothing_heavy() -> None:
    heavy = "('torch', 'mlflow', 'networkit', 'pyspark')"
    code = f"import sys, socialflywheel.cli; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_doctor_and_tables(tmp_path: Path) -> None:
    out = subprocess.run(
        [str(FLYWHEEL), "doctor", "--set", f"work_dir={tmp_path}"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "graph backend" in out.stdout and "networkit" in out.stdout
    out = subprocess.run(
        [str(FLYWHEEL), "tables", "--set", f"work_dir={tmp_path}"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0 and "bronze.events" in out.stdout and "not written" in out.stdout

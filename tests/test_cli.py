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


def test_any_job_failure_is_one_line_with_the_traceback_saved(tmp_path: Path) -> None:
    """#16 item 9: a failure outside the config (here: recommend before any model) printed a long traceback.

    Now every failure is one line naming the job and the cause, the traceback saved under the work folder.
    Mutation tried: catching only ValueError/OSError/RuntimeError prints the LookupError's traceback again.
    """
    out = subprocess.run(
        [str(FLYWHEEL), "recommend", "--set", f"work_dir={tmp_path}"], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    (line,) = [ln for ln in out.stderr.splitlines() if "failed:" in ln]
    assert line.startswith("recommend failed: LookupError: no registered versions of two_tower_retrieval")
    saved = sorted((tmp_path / "logs").glob("recommend-*.log"))
    assert len(saved) == 1 and "Traceback" in saved[0].read_text() and str(saved[0]) in line

"""Every job answers --help from jobs/<job>.py and from `flywheel <job>`; doctor, tables and contract run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

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
        [str(FLYWHEEL), "doctor", "--json", "--set", f"work_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    facts = {row["item"]: row["value"] for row in json.loads(out.stdout)}
    assert facts["graph backend"].startswith("networkit") and facts["work dir"] == str(tmp_path)
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


def _commands() -> list[str]:
    from typer.main import get_command

    from socialflywheel.cli import app

    return list(get_command(app).commands)  # type: ignore[attr-defined]


def test_help_names_what_each_option_takes_and_never_a_python_type() -> None:
    """#19: help showed typer's type column (``<bool>`` beside every flag, ``<list[str]>`` beside --set).

    Every command's help is rendered; an option taking a value names it (FILE, KEY=VALUE, N, SQL), a flag and an
    argument show nothing beside them.
    """
    from typer.testing import CliRunner

    from socialflywheel.cli import app

    runner = CliRunner()
    leftover = re.compile(r"<(?:str|int|float|bool|path|list\[[^\]]*\]|[a-z_]+\|[a-z_|]+)>")
    for argv in ([], *([name] for name in _commands())):
        out = runner.invoke(app, [*argv, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
        assert out.exit_code == 0, (argv, out.output)
        assert not leftover.search(out.output), (argv, leftover.findall(out.output))
    show = runner.invoke(app, ["show", "--help"], env={"COLUMNS": "200"}).output
    assert re.search(r"--set\s+KEY=VALUE", show) and re.search(r"--where\s+SQL", show), show


def test_commands_are_listed_in_pipeline_order() -> None:
    from socialflywheel.demo import PIPELINE

    listed = _commands()
    jobs = [name for name in listed if name in PIPELINE]
    assert jobs == [name for name in PIPELINE if name in listed]
    assert listed[: len(jobs)] == jobs  # the pipeline first, then the lake's and the machine's commands


OWN_TYPES_SOURCE = """
name: my-app
event_types: {impression: view, bookmark: keep, pin: keep}
rules:
  - name: app event
    emit:
      - {event_id: id, event_type: kind, user_id: actor.id, post_id: item.id, ts: at}
"""


def test_contract_prints_the_schema_for_the_config_with_a_sources_kept_types(tmp_path: Path) -> None:
    """`flywheel contract`: the shipped schema as it stands, and with `--source` (or ingest.source) a mapping's own
    kept types appended to the event types, requiring no more than the common fields."""
    from socialflywheel.config.contract import EVENT_TYPES, SCHEMA_PATH

    def contract(*args: str) -> dict[str, Any]:
        argv = [str(FLYWHEEL), "contract", "--set", f"work_dir={tmp_path}", *args]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        parsed: dict[str, Any] = json.loads(out.stdout)
        return parsed

    core = contract()
    assert core["properties"]["event_type"]["enum"] == list(EVENT_TYPES)
    assert core == json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    source = tmp_path / "my-app.yaml"
    source.write_text(OWN_TYPES_SOURCE, encoding="utf-8")
    for args in (["--source", str(source)], ["--set", f"ingest.source={source}"]):
        own = contract(*args)
        assert own["properties"]["event_type"]["enum"] == [*EVENT_TYPES, "bookmark", "pin"]
        assert own["allOf"] == core["allOf"]
    assert contract("--source", "twitter-v2") == core

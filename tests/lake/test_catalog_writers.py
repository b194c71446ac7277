"""Each table declares the job that writes it (``Table.writer``), and the runs agree with the declaration.

Before, `flywheel status` guessed a table's writer from name prefixes and layers kept beside the catalog
(``_OUTPUT_WRITERS``): a new gold table of the graph or recommend job had none until someone extended the list.
"""

from __future__ import annotations

from pathlib import Path

from tests.conftest import make_config

from socialflywheel.jobs_registry import JOBS
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake

COMMANDS = {"erase-request", "handles"}  # CLI commands that write a table without being a job (no Spark, no run)


def test_every_table_names_a_job_or_command_that_exists() -> None:
    several = [name for name, t in CATALOG.items() if t.writer is None]
    assert several == ["audit.job_runs"]  # every job appends its own record there
    unknown = {name: t.writer for name, t in CATALOG.items() if t.writer and t.writer not in {*JOBS, *COMMANDS}}
    assert not unknown


def test_what_each_run_wrote_is_declared_as_written_by_its_job(tmp_path: Path) -> None:
    """simulate, ingest and conform through the job runner: every table in a run record's versions_written is
    declared with that run's job as its writer (the check `flywheel status` relies on for unwritten tables)."""
    from socialflywheel.runs import execute_job

    cfg = make_config(tmp_path / "work", "simulate.profile=tiny")
    for job in ("simulate", "ingest", "conform"):
        execute_job(job, cfg)
    records = Lake.from_config(cfg).read_arrow("audit.job_runs").to_pylist()
    assert sorted(r["job"] for r in records) == ["conform", "ingest", "simulate"]
    for record in records:
        written = {name for name, _ in record["versions_written"]} - {"audit.job_runs"}
        assert written, record["job"]
        assert {name: CATALOG[name].writer for name in written} == dict.fromkeys(written, record["job"])

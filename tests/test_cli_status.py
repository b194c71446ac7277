"""`flywheel status`: each job's last run (failed first), each table's freshness as delta-rs sees it and its writer."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable
from typer.testing import CliRunner, Result

from socialflywheel.cli import app
from socialflywheel.config import FlywheelConfig
from socialflywheel.jobs_registry import JOBS
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake
from socialflywheel.runs import job_run
from tests.conftest import copy_lake, make_config

runner = CliRunner()


def flywheel(cfg: FlywheelConfig, *args: str) -> Result:
    """Run ``flywheel ARGS`` in-process on the test's lake (CliRunner's stdout is not a TTY: TSV)."""
    return runner.invoke(app, [*args, "--set", f"work_dir={cfg.work_path}", "--set", "simulate.profile=tiny"])


@pytest.fixture(scope="module")
def audited(
    tiny_lake: tuple[FlywheelConfig, Lake], tmp_path_factory: pytest.TempPathFactory
) -> tuple[FlywheelConfig, Lake]:
    """A copy of the tiny lake with run records: ingest and conform succeeded (at the versions), features failed."""
    cfg, lake = copy_lake(tiny_lake[0], tmp_path_factory.mktemp("status") / "work")
    shutil.rmtree(lake.path("gold.user_features"), ignore_errors=True)
    for job, table in (("ingest", "bronze.events"), ("conform", "silver.events")):
        fresh = Lake.from_config(cfg)  # a lake per run, so each record lists only what its run wrote
        with job_run(job, cfg, fresh):
            fresh.versions_written[table] = int(fresh.version(table) or 0)
    with pytest.raises(OSError, match="disk filled up"), job_run("features", cfg, Lake.from_config(cfg)):
        raise OSError("the disk filled up\twhile writing gold.user_features")
    return cfg, lake


def status_json(cfg: FlywheelConfig) -> dict[str, Any]:
    result = flywheel(cfg, "status", "--json")
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert isinstance(record, dict)
    return record


def test_failed_runs_come_first_then_the_pipeline_order(audited: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = audited
    record = status_json(cfg)
    assert record["lake"] == lake.root
    jobs = record["jobs"]
    assert [(j["job"], j["state"]) for j in jobs[:3]] == [
        ("features", "failed"),
        ("ingest", "succeeded"),
        ("conform", "succeeded"),
    ]
    assert {j["state"] for j in jobs[3:]} == {"never run"} and {j["job"] for j in jobs} == set(JOBS)
    runs = {r["job"]: r for r in lake.read_arrow("audit.job_runs").to_pylist()}
    for job in jobs[:3]:
        run = runs[job["job"]]
        assert job["run_id"] == run["run_id"]
        assert job["seconds"] == pytest.approx((run["ended_at"] - run["started_at"]).total_seconds(), abs=1e-3)
        assert dt.datetime.fromisoformat(job["started_at"]) == run["started_at"].replace(tzinfo=dt.UTC)
    assert jobs[0]["error"].startswith("OSError: the disk filled up")


def test_freshness_is_the_latest_delta_commit(audited: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = audited
    tables = {t["table"]: t for t in status_json(cfg)["tables"]}
    assert sorted(tables) == sorted(CATALOG)
    for name in ("bronze.events", "silver.events", "silver.users", "truth.users", "audit.job_runs"):
        delta = DeltaTable(lake.path(name))
        newest = delta.history(1)[0]
        assert tables[name]["written"] and tables[name]["version"] == delta.version() == newest["version"]
        assert dt.datetime.fromisoformat(tables[name]["last_commit"]) == dt.datetime.fromtimestamp(
            newest["timestamp"] / 1000, dt.UTC
        )
        assert tables[name]["rows"] == lake.read_arrow(name).num_rows
    # the last writer: the run record that wrote the current version, else the job the catalog names
    conform_run = next(j["run_id"] for j in status_json(cfg)["jobs"] if j["job"] == "conform")
    assert tables["silver.events"]["last_writer"] == {
        "job": "conform",
        "run_id": conform_run,
        "version": lake.version("silver.events"),
        "source": "run record",
    }
    assert tables["audit.job_runs"]["last_writer"]["job"] == "features"  # the newest run appended the newest record
    assert tables["silver.users"]["last_writer"] == {
        "job": "conform",
        "run_id": None,
        "version": None,
        "source": "catalog",
    }


def test_unwritten_table_names_the_job_that_writes_it(audited: tuple[FlywheelConfig, Lake]) -> None:
    cfg, _ = audited
    tables = {t["table"]: t for t in status_json(cfg)["tables"]}
    unwritten = tables["gold.user_features"]
    assert not unwritten["written"] and unwritten["version"] is None and unwritten["last_commit"] is None
    assert unwritten["last_writer"]["job"] == "features"
    graph = tables["gold.graph_communities"]  # the catalog's outputs name their job too
    assert graph["written"] or graph["last_writer"]["job"] == "graph"


def test_piped_status_is_tsv_jobs_then_tables(audited: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = audited
    result = flywheel(cfg, "status")
    assert result.exit_code == 0, result.stderr
    jobs_part, tables_part = result.stdout.split("\n\n")
    jobs = [line.split("\t") for line in jobs_part.splitlines()]
    assert jobs[0] == ["job", "last run", "started (UTC)", "seconds", "run id", "error"]
    assert [line[:2] for line in jobs[1:4]] == [
        ["features", "failed"],
        ["ingest", "succeeded"],
        ["conform", "succeeded"],
    ]
    assert jobs[1][5] == "OSError: the disk filled up while writing gold.user_features"
    assert len(jobs) == 1 + len(JOBS) and all(len(line) == 6 for line in jobs)
    tables = [line.split("\t") for line in tables_part.splitlines()]
    assert tables[0] == ["table", "version", "last commit (UTC)", "rows", "last writer", "writer's run id"]
    listed = {line[0]: line for line in tables[1:]}
    assert sorted(listed) == sorted(CATALOG)
    assert listed["gold.user_features"][1:5] == ["-", "not written yet", "-", "`flywheel features` writes it"]
    events = listed["silver.events"]
    assert events[1] == str(lake.version("silver.events")) and events[4] == "conform" and len(events[5]) == 32
    assert listed["silver.users"][4] == "conform (from the catalog: no run record)"


def test_an_empty_lake_is_one_line(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "work")
    result = flywheel(cfg, "status")
    assert result.exit_code == 0 and result.stderr == ""
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"no lake at {Lake.from_config(cfg).root} yet")
    record = status_json(cfg)
    assert not any(t["written"] for t in record["tables"]) and {j["state"] for j in record["jobs"]} == {"never run"}

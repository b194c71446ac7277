"""`flywheel` shows what is in the lake: --version, schema, history, show, --json, and pipe-friendly tables."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import shutil
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from socialflywheel.cli import app
from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake
from socialflywheel.runs import job_run
from tests.conftest import copy_lake

runner = CliRunner()


def flywheel(cfg: FlywheelConfig, *args: str) -> Result:
    """Run ``flywheel ARGS`` in-process on the test's lake (CliRunner's stdout is not a TTY)."""
    return runner.invoke(app, [*args, "--set", f"work_dir={cfg.work_path}", "--set", "simulate.profile=tiny"])


def as_json(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.stderr
    records = json.loads(result.stdout)  # the whole of stdout is the JSON array
    assert isinstance(records, list)
    return records


def tsv(result: Result) -> list[list[str]]:
    assert result.exit_code == 0, result.stderr
    return [line.split("\t") for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def audited(
    tiny_lake: tuple[FlywheelConfig, Lake], tmp_path_factory: pytest.TempPathFactory
) -> tuple[FlywheelConfig, Lake]:
    """A copy of the tiny lake with two run records (one failed, with a long error) and no gold.user_features."""
    cfg, lake = copy_lake(tiny_lake[0], tmp_path_factory.mktemp("audited") / "work")
    shutil.rmtree(lake.path("gold.user_features"), ignore_errors=True)
    with job_run("conform", cfg, lake) as ctx:
        ctx.rows_in, ctx.rows_out = 1234, 1200
        lake.versions_written["silver.events"] = 7
    error = "the disk filled up\twhile writing " + "x" * 150
    with pytest.raises(OSError, match="disk filled up"), job_run("features", cfg, lake):
        raise OSError(error)
    return cfg, lake


def test_version_is_the_installed_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == importlib.metadata.version("socialflywheel")


def test_schema_lists_the_catalog_entry() -> None:
    entry = CATALOG["silver.events"]
    (record,) = as_json(runner.invoke(app, ["schema", "silver.events", "--json"]))
    assert [c["name"] for c in record["columns"]] == entry.column_names
    assert {c["name"]: c["type"] for c in record["columns"]} == entry.column_types
    assert record["keys"] == ["event_id"] and record["partition_by"] == ["event_date"]
    assert record["people_columns"] == list(entry.pii_columns) and record["doc"] == entry.doc
    text = runner.invoke(app, ["schema", "silver.events"]).stdout
    assert text.startswith("### `silver.events`") and "- partitioned by: event_date" in text
    assert all(f"| `{c}` | `{t}` |" in text for c, t in entry.column_types.items())


def test_history_lists_every_version_in_order(tiny_lake: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = tiny_lake
    current = lake.version("silver.events")
    assert current is not None and current >= 1
    commits = as_json(flywheel(cfg, "history", "silver.events", "--json"))
    assert [c["version"] for c in commits] == list(range(current + 1))
    times = [dt.datetime.fromisoformat(c["timestamp"]) for c in commits]
    assert times == sorted(times) and all(t.tzinfo is not None for t in times)
    assert commits[0]["operation"] == "CREATE TABLE"
    # the rows the commits wrote add up to the table's rows (conform only inserts new events)
    rows = lake.read_arrow("silver.events", columns=["event_id"]).num_rows
    assert sum(c["rows_written"] or 0 for c in commits) == rows
    (last,) = as_json(flywheel(cfg, "history", "silver.events", "--limit", "1", "--json"))
    assert last["version"] == current
    lines = tsv(flywheel(cfg, "history", "silver.events"))
    assert lines[0] == ["version", "timestamp (UTC)", "operation", "parameters", "rows written"]
    assert [int(line[0]) for line in lines[1:]] == list(range(current + 1))


def test_show_reads_the_first_rows(tiny_lake: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = tiny_lake
    events = lake.read_arrow("silver.events", columns=["event_id", "event_type"]).to_pylist()
    ids = {e["event_id"] for e in events}
    rows = as_json(flywheel(cfg, "show", "silver.events", "--limit", "5", "--json"))
    assert len(rows) == 5
    assert all(list(r) == CATALOG["silver.events"].column_names for r in rows)
    assert {r["event_id"] for r in rows} <= ids and len({r["event_id"] for r in rows}) == 5
    dt.date.fromisoformat(rows[0]["event_date"])
    dt.datetime.fromisoformat(rows[0]["ts"])
    lines = tsv(flywheel(cfg, "show", "silver.events", "--limit", "3", "--columns", "event_id,event_type"))
    assert lines[0] == ["event_id", "event_type"] and len(lines) == 4
    assert all(line[0] in ids for line in lines[1:])


def test_show_where_keeps_only_matching_rows(tiny_lake: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = tiny_lake
    events = lake.read_arrow("silver.events", columns=["event_id", "event_type"]).to_pylist()
    views = {e["event_id"] for e in events if e["event_type"] == "view"}
    assert 7 < len(views) < len(events)
    where = "event_type = 'view'"
    rows = as_json(flywheel(cfg, "show", "silver.events", "--where", where, "--limit", "7", "--json"))
    assert len(rows) == 7 and {r["event_id"] for r in rows} <= views
    bad = flywheel(cfg, "show", "silver.events", "--where", "no_such_column = 1")
    assert bad.exit_code == 2 and "no_such_column" in bad.stderr and bad.stdout == ""


@pytest.mark.parametrize("command", ["schema", "history", "show"])
def test_unknown_table_is_one_line_with_close_matches(tiny_lake: tuple[FlywheelConfig, Lake], command: str) -> None:
    lake_args = [] if command == "schema" else ["--set", f"work_dir={tiny_lake[0].work_path}"]
    result = runner.invoke(app, [command, "silver.event", *lake_args])
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert "'silver.event'" in line and "silver.events" in line


def test_unwritten_table_names_the_job_that_writes_it(audited: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = audited
    assert not lake.exists("gold.user_features")
    for command in ("history", "show"):
        result = flywheel(cfg, command, "gold.user_features")
        assert result.exit_code == 1 and result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert "gold.user_features is not written yet" in line and "`flywheel features` writes it" in line


def test_tables_json_agrees_with_the_listing_and_the_lake(tiny_lake: tuple[FlywheelConfig, Lake]) -> None:
    cfg, lake = tiny_lake
    records = {r["table"]: r for r in as_json(flywheel(cfg, "tables", "--json"))}
    assert sorted(records) == sorted(CATALOG)
    assert records["silver.events"]["rows"] == lake.read_arrow("silver.events", columns=["event_id"]).num_rows
    assert records["silver.events"]["version"] == lake.version("silver.events")
    dt.datetime.fromisoformat(records["silver.events"]["last_write"])
    lines = tsv(flywheel(cfg, "tables"))
    assert lines[0] == ["table", "rows", "version", "size", "files", "last write (UTC)"]
    assert all(len(line) == 6 for line in lines) and "…" not in flywheel(cfg, "tables").stdout
    listed = {line[0]: line for line in lines[1:]}
    assert sorted(listed) == sorted(CATALOG)
    for name, r in records.items():
        assert listed[name][1] == (f"{r['rows']:,}" if r["written"] else "-")
        assert listed[name][2] == (str(r["version"]) if r["written"] else "-")
        assert listed[name][5] == (r["last_write"][:19].replace("T", " ") if r["written"] else "not written")


def test_runs_json_agrees_with_the_listing(audited: tuple[FlywheelConfig, Lake]) -> None:
    cfg, _ = audited
    runs = as_json(flywheel(cfg, "runs", "--limit", "2", "--json"))
    assert [(r["job"], r["status"]) for r in runs] == [("features", "failed"), ("conform", "succeeded")]
    assert (runs[1]["rows_in"], runs[1]["rows_out"]) == (1234, 1200)
    assert runs[1]["versions_written"] == {"silver.events": 7}
    assert runs[0]["error"].startswith("OSError: the disk filled up\twhile") and len(runs[0]["error"]) > 150
    dt.datetime.fromisoformat(runs[0]["started_at"])
    lines = tsv(flywheel(cfg, "runs", "--limit", "2"))
    assert lines[0][:3] == ["started (UTC)", "job", "status"] and len(lines) == 3
    assert [(line[1], line[2], line[4], line[5]) for line in lines[1:]] == [
        (r["job"], r["status"], f"{r['rows_in']:,}", f"{r['rows_out']:,}") for r in runs
    ]
    assert lines[2][6] == "silver.events@7"
    assert lines[1][7] == runs[0]["error"].replace("\t", "\\t")  # whole, on one line, when piped
    assert as_json(flywheel(cfg, "runs", "--limit", "1", "--json"))[0]["job"] == "features"


def test_a_narrow_terminal_folds_cells_instead_of_cutting_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from socialflywheel import console

    monkeypatch.setattr(console, "is_tty", lambda: True)
    monkeypatch.setenv("COLUMNS", "40")
    rows = [["bronze.ingested_files", "1,234,567", "2026-12-02 10:51:37 and more words here"]]
    console.print_rows("narrow", ["table", "rows", "last write"], rows, right=["rows"])
    out = capsys.readouterr().out
    assert "┃" in out and max(len(line) for line in out.splitlines()) <= 40  # a rich table, 40 columns wide
    assert "…" not in out and "1,234,567" in out  # folded, nothing cut

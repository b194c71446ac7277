"""`flywheel status`: each table's freshness and last writer, each job's last run, failed runs first.

Everything comes from Delta logs (delta-rs) and audit.job_runs; no table is scanned and Spark never starts.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

import typer

from socialflywheel.cli_options import ConfOpt, JsonOpt, SetOpt
from socialflywheel.console import print_rows
from socialflywheel.table_view import Record, catalog_writer, run_records

if TYPE_CHECKING:
    from collections.abc import Callable

    from socialflywheel.lake.io import Lake

# The order a job's last run is listed in: failures first, then successes, then jobs that never ran.
_STATE_ORDER = {"failed": 0, "succeeded": 1}


def status_record(lake: Lake) -> Record:
    """The lake's status as one JSON-ready object: ``{"lake", "jobs", "tables"}``.

    ``jobs`` holds every job of the registry (and any other job with a run record): its last run's state, start,
    end, seconds, run id and error; failed ones first, then succeeded, then never run, each in pipeline order.
    ``tables`` holds every catalog table, sorted by name: its current Delta version and that commit's time, its
    rows when the log's file statistics give them, and its last writer: the newest run record that lists the table
    among the versions it wrote (``source`` "run record"), else the job the catalog says writes it ("catalog").
    """
    from socialflywheel.jobs_registry import JOB_LIST

    runs = run_records(lake, limit=1_000_000)  # newest first; the audit table holds one small row per run
    last_run: dict[str, Record] = {}
    for run in runs:
        last_run.setdefault(str(run["job"]), run)
    order = [spec.name for spec in JOB_LIST] + sorted(set(last_run) - {spec.name for spec in JOB_LIST})
    jobs = [_job_record(job, last_run.get(job)) for job in order]
    jobs.sort(key=lambda j: _STATE_ORDER.get(j["state"], 2))  # stable: pipeline order within a state
    from socialflywheel.lake.catalog import CATALOG

    return {"lake": lake.root, "jobs": jobs, "tables": [_table_record(lake, name, runs) for name in sorted(CATALOG)]}


def _utc(value: dt.datetime | None) -> str | None:
    """A run record's time (naive UTC) as ISO 8601 with its offset."""
    return None if value is None else value.replace(tzinfo=dt.UTC).isoformat()


def _job_record(job: str, run: Record | None) -> Record:
    if run is None:
        return {"job": job, "state": "never run"} | dict.fromkeys(
            ("run_id", "started_at", "ended_at", "seconds", "error")
        )
    started, ended = run["started_at"], run["ended_at"]
    seconds = round((ended - started).total_seconds(), 3) if started and ended else None
    return {
        "job": job,
        "state": run["status"],
        "run_id": run["run_id"],
        "started_at": _utc(started),
        "ended_at": _utc(ended),
        "seconds": seconds,
        "error": run["error"],
    }


def _table_record(lake: Lake, name: str, runs: list[Record]) -> Record:
    delta = lake.delta(name)
    if delta is None:
        return {"table": name, "written": False, "version": None, "last_commit": None, "rows": None} | {
            "last_writer": {"job": catalog_writer(name), "run_id": None, "version": None, "source": "catalog"}
        }
    import pyarrow as pa

    millis = delta.history(1)[0].get("timestamp")  # the newest commit's commitInfo
    actions = pa.table(delta.get_add_actions(flatten=True))
    counts = actions.column("num_records").to_pylist() if "num_records" in actions.column_names else [None]
    writer = next((r for r in runs if name in r["versions_written"]), None)
    if name == "audit.job_runs" and runs:  # each run appends its own record, the newest one last
        writer = runs[0] | {"versions_written": {name: delta.version()}}
    return {
        "table": name,
        "written": True,
        "version": delta.version(),
        "last_commit": dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat() if millis else None,
        # from the files' statistics in the log; unknown (None) when a file was written without them
        "rows": None if None in counts else sum(counts),
        "last_writer": (
            {"job": catalog_writer(name), "run_id": None, "version": None, "source": "catalog"}
            if writer is None
            else {
                "job": writer["job"],
                "run_id": writer["run_id"],
                "version": writer["versions_written"][name],
                "source": "run record",
            }
        ),
    }


def _writer_text(table: Record) -> str:
    w = table["last_writer"]
    if not table["written"]:
        return f"`flywheel {w['job']}` writes it" if w["job"] else "unknown: the stage that writes it has not run"
    if w["source"] == "catalog":
        return f"{w['job']} (from the catalog: no run record)" if w["job"] else "unknown (no run record)"
    later = "" if w["version"] == table["version"] else f" (it wrote v{w['version']}; later commits unrecorded)"
    return f"{w['job']}{later}"


def register_status_command(app: typer.Typer, *, open_lake: Callable[[str | None, list[str] | None], Lake]) -> None:
    """Add `flywheel status` to ``app``."""

    @app.command(help="Each job's last run (failed first) and each table's freshness and last writer.")
    def status(conf: ConfOpt = None, set_: SetOpt = None, json_: JsonOpt = False) -> None:
        """Print the jobs' last runs, then the tables' Delta version, last commit, rows and last writer."""
        lake = open_lake(conf, set_)
        record = status_record(lake)
        if json_:
            typer.echo(json.dumps(record, allow_nan=False, ensure_ascii=False))
            return
        tables: list[dict[str, Any]] = record["tables"]
        if not any(t["written"] for t in tables) and all(j["state"] == "never run" for j in record["jobs"]):
            typer.echo(f"no lake at {lake.root} yet: no table written, no job run (`flywheel demo` builds one)")
            return
        job_rows = [
            [
                j["job"],
                j["state"],
                (j["started_at"] or "")[:19].replace("T", " "),
                "" if j["seconds"] is None else f"{j['seconds']:.1f}",
                j["run_id"] or "",
                " ".join((j["error"] or "").split())[:120],
            ]
            for j in record["jobs"]
        ]
        columns = ("job", "last run", "started (UTC)", "seconds", "run id", "error")
        print_rows(f"jobs of {lake.root}", columns, job_rows, right=("seconds",))
        typer.echo("")
        table_rows = [
            [
                t["table"],
                "-" if t["version"] is None else str(t["version"]),
                (t["last_commit"] or "")[:19].replace("T", " ") if t["written"] else "not written yet",
                "-" if t["rows"] is None else f"{t['rows']:,}",
                _writer_text(t),
                t["last_writer"]["run_id"] or "",
            ]
            for t in tables
        ]
        columns = ("table", "version", "last commit (UTC)", "rows", "last writer", "writer's run id")
        print_rows("tables", columns, table_rows, right=("version", "rows"))

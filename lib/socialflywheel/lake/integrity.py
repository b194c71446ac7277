"""Integrity checks of the lake: a Delta log with a hole, and bookkeeping that disagrees with the table.

A reader that opens a table whose log lost a commit file may see a partial table without an error (delta-rs did;
Sail refuses), and an ingest whose bronze commit was lost records the batch as taken while its rows are gone, so
they are never taken again. ``flywheel check`` (and every job, before it starts) looks for both and refuses with
one line per problem naming the table and the fix; nothing here repairs anything on its own.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.storage import locate

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

_COMMIT = re.compile(r"^(\d{20})\.json$")
_CRC = re.compile(r"^(\d{20})\.crc$")
_CHECKPOINT = re.compile(r"^(\d{20})\.checkpoint(?:\.\d+\.\d+)?\.parquet$")


class DamagedLake(RuntimeError):
    """A table's log has a hole or its bookkeeping disagrees with it; the message names each problem and its fix."""


@dataclass(frozen=True)
class Problem:
    """One integrity problem: the table, what is wrong, and what to do."""

    table: str
    what: str
    fix: str

    def line(self) -> str:
        """The problem as one line."""
        return f"{self.table}: {self.what}; {self.fix}"


def _log_names(lake: Lake, name: str) -> list[str] | None:
    """The file names in a table's ``_delta_log`` (None when the table has no log folder)."""
    import pyarrow.fs as pa_fs

    loc = locate(f"{lake.path(name)}/_delta_log")
    infos = loc.fs.get_file_info(pa_fs.FileSelector(loc.path, allow_not_found=True))
    names = [i.base_name for i in infos if i.type == pa_fs.FileType.File]
    return names or None


def log_problem(lake: Lake, name: str) -> Problem | None:
    """A hole in a table's log: a commit missing between the newest checkpoint (or version 0) and the newest commit.

    Log clean-up (``flywheel maintain``) removes commits older than a checkpoint; those are not holes.
    """
    names = _log_names(lake, name)
    if names is None:
        return None
    commits = {int(m.group(1)) for n in names if (m := _COMMIT.match(n))}
    checkpoints = {int(m.group(1)) for n in names if (m := _CHECKPOINT.match(n))}
    sums = {int(m.group(1)) for n in names if (m := _CRC.match(n))}
    if not commits and not checkpoints:
        return Problem(name, "its _delta_log holds no commit", "restore the table from a backup or delete it")
    newest = max(commits | checkpoints | sums)  # a checksum file left without its commit is a lost commit too
    start = max(checkpoints) + 1 if checkpoints else 0
    missing = sorted(set(range(start, newest + 1)) - commits)
    if not missing:
        return None
    shown = ", ".join(str(v) for v in missing[:5]) + (" ..." if len(missing) > 5 else "")
    return Problem(
        name,
        f"its Delta log lacks commit(s) {shown} of versions {start}..{newest} (readers would see a partial table)",
        f"restore the commit file(s), or RESTORE the table to version {missing[0] - 1}"
        if missing[0] > 0
        else "restore the commit file(s) from a backup",
    )


def _last_cleanup(lake: Lake) -> object | None:
    """When rows last left bronze legitimately: the newest erasure or successful maintain run (None: never)."""
    times = []
    if lake.exists("audit.erasures"):
        times += lake.read_arrow("audit.erasures", columns=["completed_at"]).column("completed_at").to_pylist()
    if lake.exists("audit.job_runs"):
        runs = lake.read_arrow("audit.job_runs", columns=["job", "status", "ended_at"]).to_pylist()
        times += [r["ended_at"] for r in runs if r["job"] == "maintain" and r["status"] == "succeeded"]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def bookkeeping_problems(lake: Lake) -> list[Problem]:
    """Batches bronze.batches records as adding rows of which bronze.events holds none (a lost commit).

    Erasure and retention delete rows legitimately, so only batches that ended after the newest erasure or
    maintain run are held to it. This reads bronze.events' batch ids: ``flywheel check`` runs it, jobs do not.
    """
    if not (lake.exists("bronze.batches") and lake.exists("bronze.events")):
        return []
    since = _last_cleanup(lake)
    batches = lake.read_arrow("bronze.batches", columns=["batch_id", "rows_new", "ended_at"]).to_pylist()
    present = set(lake.read_arrow("bronze.events", columns=["batch_id"]).column("batch_id").unique().to_pylist())
    lost = sorted(
        b["batch_id"]
        for b in batches
        if int(b["rows_new"] or 0) > 0
        and b["batch_id"] not in present
        and (since is None or b["ended_at"] is None or b["ended_at"] > since)
    )
    if not lost:
        return []
    shown = ", ".join(lost[:3]) + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")
    return [
        Problem(
            "bronze.events",
            f"{len(lost)} batch(es) recorded as adding rows have none in the table ({shown})",
            "restore bronze.events to its last good version, or delete those batches' entries from "
            "bronze.ingested_files and bronze.batches and run `flywheel ingest` again",
        )
    ]


def check(lake: Lake) -> list[Problem]:
    """Every problem found: holes in each existing table's log, then bronze's bookkeeping (``flywheel check``)."""
    problems = log_problems(lake)
    if not any(p.table in ("bronze.events", "bronze.batches") for p in problems):
        problems += bookkeeping_problems(lake)
    return problems


def log_problems(lake: Lake) -> list[Problem]:
    """Holes in the logs of every existing table (one listing of each ``_delta_log``: cheap enough for every job)."""
    return [p for name in sorted(CATALOG) if (p := log_problem(lake, name)) is not None]


def require_intact(lake: Lake, *, job: str) -> None:
    """Refuse to run ``job`` when a table's log has a hole (one line naming each table, and the fix).

    Raises:
        DamagedLake: a table's Delta log lacks a commit.
    """
    problems = log_problems(lake)
    if problems:
        raise DamagedLake(f"{job} refused, the lake is damaged: " + " | ".join(p.line() for p in problems))

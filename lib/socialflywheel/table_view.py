"""What the CLI shows of the lake's tables as records: the catalog, run records, a table's entry, history, first rows.

Everything here reads through delta-rs and pyarrow (never Spark), so `flywheel show` answers in a second.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
from typing import TYPE_CHECKING, Any

from socialflywheel.lake.catalog import CATALOG, table

if TYPE_CHECKING:
    import pyarrow as pa

    from socialflywheel.lake.io import Lake

Record = dict[str, Any]

# A Delta CREATE TABLE's parameters (the whole schema as JSON): kept in --json, left out of the summary for people.
_BULKY_PARAMETERS = ("metadata", "protocol", "location")
# operationMetrics keys that count the rows a commit wrote: Spark/Sail WRITE, delta-rs writes.
_ROWS_WRITTEN = ("numOutputRows", "num_added_rows", "num_output_rows")
_MERGE_ROWS = ("numTargetRowsInserted", "numTargetRowsUpdated", "numTargetRowsCopied")


def unknown_table(name: str) -> str | None:
    """None for a catalog table; else one line naming ``name`` and the catalog's closest names."""
    if name in CATALOG:
        return None
    close = difflib.get_close_matches(name, list(CATALOG), n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "`flywheel tables` lists them"
    return f"unknown table {name!r}; {hint}"


def catalog_records(lake: Lake) -> list[Record]:
    """Each catalog table (sorted by name): rows, version, bytes, files and last write (ISO, UTC); None if unwritten."""
    from socialflywheel.lake.maintenance import describe

    out: list[Record] = []
    for name in sorted(CATALOG):
        info = describe(lake, name)
        if info is None:
            unwritten = dict.fromkeys(("rows", "version", "bytes", "files", "last_write"))
            out.append({"table": name, "written": False, **unwritten})
            continue
        when = info["last_write"]
        iso = dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC).isoformat() if when else None
        out.append({**info, "written": True, "last_write": iso})
    return out


def run_records(lake: Lake, *, limit: int) -> list[Record]:
    """The ``limit`` most recent records of audit.job_runs, newest first (maps of versions as objects)."""
    if not lake.exists("audit.job_runs"):
        return []
    data = lake.read_arrow("audit.job_runs").sort_by([("started_at", "descending")]).slice(0, limit)
    rows: list[Record] = data.to_pylist()
    for r in rows:
        for key in ("versions_read", "versions_written"):
            r[key] = dict(r[key] or [])
    return rows


def schema_record(name: str) -> Record:
    """A table's catalog entry: layer, doc, keys, partitioning, people columns and typed columns in schema order."""
    t = table(name)
    return {
        "table": t.name,
        "layer": t.layer,
        "doc": t.doc,
        "keys": list(t.keys),
        "partition_by": list(t.partition_by),
        "people_columns": list(t.pii_columns),
        "period_column": t.period_column,
        "columns": [{"name": c, "type": dtype} for c, dtype in t.column_types.items()],
    }


def history_records(lake: Lake, name: str, *, limit: int | None) -> list[Record]:
    """The table's last ``limit`` commits (all when None), oldest first.

    Raises:
        FileNotFoundError: the table has not been written.
    """
    from socialflywheel.lake.maintenance import history

    out: list[Record] = []
    for commit in reversed(history(lake, name, limit=limit)):
        params = {k: str(v) for k, v in (commit.get("operationParameters") or {}).items()}
        millis = commit.get("timestamp")
        out.append(
            {
                "version": commit.get("version"),
                "timestamp": dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat() if millis else None,
                "operation": commit.get("operation"),
                "parameters": params,
                "rows_written": _rows_written(commit.get("operationMetrics") or {}),
            }
        )
    return out


def parameters_summary(params: dict[str, str]) -> str:
    """A commit's parameters as ``key=value`` pairs, whitespace collapsed, without the bulky CREATE TABLE ones."""
    return ", ".join(f"{k}={' '.join(v.split())}" for k, v in params.items() if k not in _BULKY_PARAMETERS)


def _rows_written(metrics: dict[str, Any]) -> int | None:
    for key in _ROWS_WRITTEN:
        if isinstance(metrics.get(key), int):
            return int(metrics[key])
    merged = [metrics[k] for k in _MERGE_ROWS if isinstance(metrics.get(k), int)]
    return sum(merged) if merged else None


def writer_of(lake: Lake, name: str) -> str | None:
    """The job that writes a table: the last recorded run that wrote it, else its layer's one writer, else None."""
    for run in run_records(lake, limit=10_000):
        if name in run["versions_written"]:
            return str(run["job"])
    return catalog_writer(name)


def catalog_writer(name: str) -> str | None:
    """The job the catalog declares as the table's writer (``Table.writer``)."""
    return table(name).writer


def first_rows(
    lake: Lake, name: str, *, limit: int, where: str | None = None, columns: list[str] | None = None
) -> pa.Table | None:
    """At most ``limit`` rows of the table's current version, read lazily; None when the table does not exist.

    Args:
        lake: The lake.
        name: A catalog table.
        limit: The most rows read (a scanner's head: the table is never read whole).
        where: A SQL condition on the table's columns, run by DuckDB over the Arrow dataset.
        columns: The columns to keep, in this order (default: all, in schema order).

    Raises:
        ImportError: ``where`` is given and DuckDB is not installed.
        ValueError: a column the table does not have.
    """
    import pyarrow.fs as pa_fs

    from socialflywheel.lake.storage import locate

    delta = lake.delta(name)
    if delta is None:
        return None
    # pyarrow's own filesystem, not delta-rs's handler: with the latter the process now and then hangs or aborts at
    # exit after a scan (delta-io/delta-rs#2184).
    where_files = locate(lake.path(name))
    dataset = delta.to_pyarrow_dataset(filesystem=pa_fs.SubTreeFileSystem(where_files.path, where_files.fs))
    wanted = columns or list(dataset.schema.names)
    missing = [c for c in wanted if c not in dataset.schema.names]
    if missing:
        raise ValueError(f"{name} has no column {', '.join(missing)}; it has: {', '.join(dataset.schema.names)}")
    if where is None:
        return dataset.scanner(columns=wanted).head(limit)
    import duckdb

    con = duckdb.connect()
    try:
        con.register("t", dataset)
        selected = ", ".join('"' + c.replace('"', '""') + '"' for c in wanted)
        result: pa.Table = con.sql(f"SELECT {selected} FROM t WHERE {where} LIMIT {int(limit)}").to_arrow_table()
    finally:
        con.close()
    return result


def to_json(records: list[Record]) -> str:
    """Records as a JSON array: dates and timestamps as ISO strings, bytes as hex, anything else as its text."""
    return json.dumps(records, default=_json_value, ensure_ascii=False)


def _json_value(value: object) -> object:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)

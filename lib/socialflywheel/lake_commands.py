"""The `flywheel` commands that read the lake without Spark: status, tables, schema, history, show and runs.

They print rich tables on a terminal, tab-separated lines into a pipe, and JSON with ``--json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from socialflywheel.cli_options import ConfOpt, JsonOpt, SetOpt, TableArg
from socialflywheel.console import cell, is_tty, print_rows
from socialflywheel.lake_status import register_status_command
from socialflywheel.table_view import (
    catalog_records,
    first_rows,
    history_records,
    parameters_summary,
    run_records,
    schema_record,
    to_json,
    unknown_table,
    writer_of,
)

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

LakeOpener = Callable[[str | None, list[str] | None], "Lake"]
"""``(--conf, --set values) -> the configured lake``; exits 2 on a bad config (the CLI's composition root)."""


def register_lake_commands(app: typer.Typer, *, open_lake: LakeOpener) -> None:
    """Add status, tables, schema, history, show and runs to ``app``, in that order (the order `--help` lists them)."""
    register_status_command(app, open_lake=open_lake)

    @app.command(
        help="Each table of the catalog: rows, Delta version, size, last write (--schema: the data dictionary)."
    )
    def tables(
        conf: ConfOpt = None,
        set_: SetOpt = None,
        schema: Annotated[bool, typer.Option("--schema", help="Print every table's columns, keys and doc.")] = False,
        json_: JsonOpt = False,
    ) -> None:
        """Print the catalog's tables with their rows, version, size and last write, or the data dictionary."""
        if schema:
            from socialflywheel.lake.catalog import CATALOG
            from socialflywheel.lake.catalog.dictionary import markdown

            if json_:
                typer.echo(to_json([schema_record(name) for name in sorted(CATALOG)]))
            else:
                typer.echo(markdown(), nl=False)
            return
        lake = open_lake(conf, set_)
        records = catalog_records(lake)
        if json_:
            typer.echo(to_json(records))
            return
        rows = [
            [r["table"], "-", "-", "-", "-", "not written"]
            if not r["written"]
            else [
                r["table"],
                f"{r['rows']:,}",
                str(r["version"]),
                _size(r["bytes"]),
                str(r["files"]),
                _when(r["last_write"]),
            ]
            for r in records
        ]
        columns = ("table", "rows", "version", "size", "files", "last write (UTC)")
        print_rows(f"tables under {lake.root}", columns, rows, right=("rows", "version", "size", "files"))

    @app.command(help="One table's catalog entry: columns and types, keys, partitioning, people columns, doc.")
    def schema(table: TableArg, json_: JsonOpt = False) -> None:
        """Print the data dictionary's entry of one table; exit 2 naming close matches when the catalog lacks it."""
        from socialflywheel.lake.catalog import CATALOG
        from socialflywheel.lake.catalog.dictionary import describe

        _known_or_exit(table)
        if json_:
            typer.echo(to_json([schema_record(table)]))
        else:
            typer.echo("\n".join(describe(CATALOG[table])), nl=False)

    @app.command(help="One table's Delta history: version, time, operation, parameters, rows written.")
    def history(
        table: TableArg,
        conf: ConfOpt = None,
        set_: SetOpt = None,
        limit: Annotated[
            int | None, typer.Option(metavar="N", help="The most recent N versions (default: all).")
        ] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Print the table's commits oldest first; exit 1 naming the job that writes it when it is not written yet."""
        _known_or_exit(table)
        lake = open_lake(conf, set_)
        try:
            records = history_records(lake, table, limit=limit)
        except FileNotFoundError:
            _not_written(lake, table)
        if json_:
            typer.echo(to_json(records))
            return
        columns = ("version", "timestamp (UTC)", "operation", "parameters", "rows written")
        rows = [
            [
                str(r["version"]),
                _when(r["timestamp"]),
                str(r["operation"]),
                parameters_summary(r["parameters"]),
                "" if r["rows_written"] is None else f"{r['rows_written']:,}",
            ]
            for r in records
        ]
        print_rows(f"history of {table}", columns, rows, right=("version", "rows written"))

    @app.command(help="The first rows of a table (delta-rs, no Spark); --where filters with DuckDB SQL.")
    def show(
        table: TableArg,
        conf: ConfOpt = None,
        set_: SetOpt = None,
        where: Annotated[
            str | None, typer.Option(metavar="SQL", help="A SQL condition, e.g. \"event_type = 'view'\" (DuckDB).")
        ] = None,
        limit: Annotated[int, typer.Option(min=0, metavar="N", help="The most rows shown.")] = 20,
        columns: Annotated[
            str | None, typer.Option(metavar="A,B", help="Columns to show, comma-separated: a,b.")
        ] = None,
        json_: JsonOpt = False,
    ) -> None:
        """Print at most ``limit`` rows of the table's current version, reading no more than that from disk."""
        _known_or_exit(table)
        lake = open_lake(conf, set_)
        wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
        try:
            data = first_rows(lake, table, limit=limit, where=where, columns=wanted)
        except ImportError:
            typer.echo("show: --where needs DuckDB (pip install duckdb, or the dev extra)", err=True)
            raise typer.Exit(2) from None
        except ValueError as exc:
            typer.echo(f"show: {exc}", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:  # DuckDB's parser and binder errors: the condition is the user's to fix
            if where is None or not type(exc).__module__.startswith(("duckdb", "_duckdb")):
                raise
            typer.echo(f"show: --where {where!r}: {' '.join(str(exc).split())}", err=True)
            raise typer.Exit(2) from None
        if data is None:
            _not_written(lake, table)
        records = data.to_pylist()
        if json_:
            typer.echo(to_json(records))
            return
        print_rows(
            f"{table}: first {len(records)} rows", data.column_names, [[cell(v) for v in r.values()] for r in records]
        )

    @app.command(help="Recent job runs from audit.job_runs.")
    def runs(
        conf: ConfOpt = None,
        set_: SetOpt = None,
        limit: Annotated[int, typer.Option(metavar="N", help="Rows shown.")] = 20,
        json_: JsonOpt = False,
    ) -> None:
        """Print the ``limit`` most recent run records of audit.job_runs, newest first."""
        records = run_records(open_lake(conf, set_), limit=limit)
        if json_:
            typer.echo(to_json(records))
            return
        if not records:
            typer.echo("no job runs recorded yet")
            return
        cut = 80 if is_tty() else None  # a terminal shows the error's start; a pipe gets all of it
        rows = [
            [
                r["started_at"].strftime("%Y-%m-%d %H:%M:%S"),
                r["job"],
                r["status"],
                f"{(r['ended_at'] - r['started_at']).total_seconds():.1f}",
                f"{r['rows_in']:,}",
                f"{r['rows_out']:,}",
                ", ".join(f"{k}@{v}" for k, v in r["versions_written"].items()),
                (r["error"] or "")[:cut],
            ]
            for r in records
        ]
        columns = ("started (UTC)", "job", "status", "seconds", "rows in", "rows out", "tables written", "error")
        print_rows("recent job runs", columns, rows)


def _when(iso: str | None) -> str:
    """An ISO timestamp as ``YYYY-MM-DD HH:MM:SS`` (how the tables listing always showed it)."""
    return (iso or "")[:19].replace("T", " ")


def _known_or_exit(table: str) -> None:
    """Exit 2 with one line naming the table and the catalog's closest names when the catalog does not know it."""
    problem = unknown_table(table)
    if problem is not None:
        typer.echo(problem, err=True)
        raise typer.Exit(2)


def _not_written(lake: Lake, table: str) -> NoReturn:
    """Exit 1 with one line naming the unwritten table and the job that writes it, when that is known."""
    job = writer_of(lake, table)
    hint = f"`flywheel {job}` writes it" if job else "the stage that writes it has not run"
    typer.echo(f"{table} is not written yet at {lake.path(table)}; {hint}", err=True)
    raise typer.Exit(1)


def _size(n: int) -> str:
    """Bytes for people: ``812 B``, ``13.8 KiB``, ``25.0 MiB``."""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"

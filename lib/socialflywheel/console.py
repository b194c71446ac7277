"""What the CLI and the demo print: a job's summary as tables (rich), and rows as a table or tab-separated lines."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from socialflywheel.results import Figure, JobResult, Scalar

if TYPE_CHECKING:
    from rich.console import Console


def console(stderr: bool = False) -> Console:
    """A new rich console writing to stdout, or to stderr with ``stderr=True``."""
    from rich.console import Console

    return Console(stderr=stderr)


def is_tty() -> bool:
    """Whether stdout is a terminal (a person reading), not a pipe or a file (a script)."""
    return sys.stdout.isatty()


def cell(value: object) -> str:
    """A value as one line of text: empty for None, ISO dates and times, lists and maps as JSON."""
    if value is None:
        return ""
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def print_rows(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[str] = ()) -> None:
    r"""Rows for people: a rich table on a terminal (cells fold, never cut), else tab-separated lines, header first.

    Tabs and newlines inside a cell are written as ``\t`` and ``\n`` so each row stays one line.
    """
    if not is_tty():
        for line in (columns, *rows):
            sys.stdout.write("\t".join(c.replace("\t", "\\t").replace("\n", "\\n") for c in line) + "\n")
        sys.stdout.flush()
        return
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left", overflow="fold")
    for row in rows:
        table.add_row(*row)
    console().print(table)


def _print_records(title: str, records: Sequence[Mapping[str, Scalar]]) -> None:
    """A list of rows (e.g. a metric table) as its own table."""
    from rich.table import Table

    table = Table(title=title, show_header=True)
    columns = list(dict.fromkeys(k for r in records for k in r))
    for col in columns:
        table.add_column(col, justify="right")
    for r in records:
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in (r.get(c, "") for c in columns)])
    console().print(table)


def print_summary(title: str, result: JobResult) -> None:
    """A job's figures as a two-column table, and each list of records among them as a table of its own."""
    print_figures(title, result.figures())


def print_figures(title: str, summary: Mapping[str, Figure]) -> None:
    """Named figures as a two-column table, and each list of records among them as a table of its own."""
    from rich.table import Table

    tables = {k: _records(v) for k, v in summary.items() if _records(v)}
    table = Table(title=title, show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key in tables:
            continue
        if isinstance(value, Mapping):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:,.3f}"
        elif isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        table.add_row(str(key), str(value))
    console().print(table)
    for key, records in tables.items():
        _print_records(f"{title}: {key}", records)


def _records(value: Figure) -> list[Mapping[str, Scalar]]:
    """The rows of a figure that is a list of records (a metric table); empty for any other figure."""
    if not isinstance(value, list) or not value:
        return []
    return [r for r in value if isinstance(r, Mapping)] if all(isinstance(r, Mapping) for r in value) else []

"""What the CLI and the demo print: a job's summary as tables (rich)."""

from __future__ import annotations

from typing import Any


def console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr)


def _print_records(title: str, records: list[dict[str, Any]]) -> None:
    """A list of rows (e.g. a metric table) as its own table."""
    from rich.table import Table

    table = Table(title=title, show_header=True)
    columns = list(dict.fromkeys(k for r in records for k in r))
    for col in columns:
        table.add_column(col, justify="right")
    for r in records:
        table.add_row(*[f"{v:.4f}" if isinstance(v, float) else str(v) for v in (r.get(c, "") for c in columns)])
    console().print(table)


def print_summary(title: str, summary: dict[str, Any]) -> None:
    from rich.table import Table

    tables = {k: v for k, v in summary.items() if isinstance(v, list) and v and all(isinstance(r, dict) for r in v)}
    table = Table(title=title, show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in summary.items():
        if key in tables:
            continue
        if isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, float):
            value = f"{value:,.3f}"
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(str(key), str(value))
    console().print(table)
    for key, records in tables.items():
        _print_records(f"{title}: {key}", records)

"""Data-quality gates run before the daily pipeline: freshness and volume of the landing data.

The landing folder is partitioned by day (``events/date=YYYY-MM-DD/*.jsonl`` or
``events_parquet/date=.../*.parquet``). Both gates look only at partitions on or before the logical
date, so a backfill of an old date is judged by what had landed by then.

- freshness: the newest partition on or before the logical date is at most ``max_lag_days`` older.
- volume: the logical date's rows are within ``[min_ratio, max_ratio]`` times the mean of the
  trailing ``trailing_days`` days that have data (passes, with a note, with too little history).

Pure Python (pyarrow only for Parquet row counts, read from the footers); no Spark. Airflow runs
it with the project's interpreter::

    python -m socialflywheel.quality freshness --conf conf/local.yaml --date 2026-10-10
    python -m socialflywheel.quality volume --conf conf/local.yaml --date 2026-10-10 --trailing-days 7

Exit status 0 when the gate passes, 1 when it fails (with one ``QUALITY GATE FAILED`` line on
stderr), 2 on bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SUBDIRS = {"json": ("events", "*.jsonl"), "parquet": ("events_parquet", "*.parquet")}
FAILED = "QUALITY GATE FAILED"


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate, printed as one JSON line."""

    gate: str
    passed: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The result as one JSON line (sorted keys)."""
        return json.dumps(asdict(self), default=str, sort_keys=True)


def partition_dates(landing_dir: Path, fmt: str = "json") -> dict[dt.date, list[Path]]:
    """Every day partition of the landing folder with its non-empty files (empty partitions left out)."""
    sub, pattern = SUBDIRS[fmt]
    root = landing_dir / sub
    out: dict[dt.date, list[Path]] = {}
    if not root.is_dir():
        return out
    for part in sorted(root.iterdir()):
        if not (part.is_dir() and part.name.startswith("date=")):
            continue
        try:
            day = dt.date.fromisoformat(part.name.removeprefix("date="))
        except ValueError:
            continue
        files = [p for p in sorted(part.glob(pattern)) if p.is_file() and p.stat().st_size > 0]
        if files:
            out[day] = files
    return out


def count_rows(files: Sequence[Path], fmt: str = "json") -> int:
    """Rows in landing files: lines for JSON lines (bad lines count too), footer row counts for Parquet."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.ParquetFile(p).metadata.num_rows for p in files)
    total = 0
    for path in files:
        last = b"\n"
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                total += chunk.count(b"\n")
                last = chunk[-1:]
        if last != b"\n":  # a final line without its newline is still a row
            total += 1
    return total


def check_freshness(landing_dir: Path, date: dt.date, *, max_lag_days: int = 1, fmt: str = "json") -> GateResult:
    """Pass when the newest landing partition on or before ``date`` is at most ``max_lag_days`` older."""
    days = [d for d in partition_dates(landing_dir, fmt) if d <= date]
    if not days:
        return GateResult(
            "freshness",
            False,
            f"{FAILED}: freshness: no landing data on or before {date} under {landing_dir / SUBDIRS[fmt][0]}",
            {"landing_dir": str(landing_dir), "date": date.isoformat()},
        )
    newest = max(days)
    lag = (date - newest).days
    details = {"newest_partition": newest.isoformat(), "lag_days": lag, "max_lag_days": max_lag_days}
    if lag > max_lag_days:
        return GateResult(
            "freshness",
            False,
            f"{FAILED}: freshness: landing data is stale: the newest partition on or before {date} is "
            f"{newest} ({lag} days old, at most {max_lag_days} allowed) under {landing_dir}",
            details,
        )
    return GateResult("freshness", True, f"freshness ok: newest partition {newest} ({lag} days before {date})", details)


def check_volume(
    landing_dir: Path,
    date: dt.date,
    *,
    trailing_days: int = 7,
    min_ratio: float = 0.5,
    max_ratio: float = 2.0,
    min_history_days: int = 3,
    fmt: str = "json",
) -> GateResult:
    """Pass when the rows landed for ``date`` are within the ratio bounds of the trailing days' mean."""
    parts = partition_dates(landing_dir, fmt)
    today = count_rows(parts.get(date, []), fmt)
    window = [date - dt.timedelta(days=k) for k in range(1, trailing_days + 1)]
    history = {d: count_rows(parts[d], fmt) for d in window if d in parts}
    details: dict[str, Any] = {
        "date": date.isoformat(),
        "rows": today,
        "trailing_days_with_data": len(history),
        "min_ratio": min_ratio,
        "max_ratio": max_ratio,
    }
    if len(history) < min_history_days:
        if today == 0:
            return GateResult("volume", False, f"{FAILED}: volume: no landing rows for {date}", details)
        return GateResult(
            "volume",
            True,
            f"volume ok: {today} rows on {date}; only {len(history)} trailing days of history "
            f"(fewer than {min_history_days}), ratio not checked",
            details,
        )
    mean = sum(history.values()) / len(history)
    ratio = today / mean if mean else float("inf")
    details.update(trailing_mean=round(mean, 1), ratio=round(ratio, 3))
    if not min_ratio <= ratio <= max_ratio:
        return GateResult(
            "volume",
            False,
            f"{FAILED}: volume: {today} rows landed for {date}, {ratio:.2f}x the trailing {len(history)}-day "
            f"mean of {mean:.0f} (allowed {min_ratio}x to {max_ratio}x)",
            details,
        )
    return GateResult(
        "volume", True, f"volume ok: {today} rows on {date}, {ratio:.2f}x the trailing mean of {mean:.0f}", details
    )


def _landing(args: argparse.Namespace) -> tuple[Path, str]:
    """The landing folder and format: --landing-dir/--format, else from the project config."""
    if args.landing_dir:
        return Path(args.landing_dir).expanduser().resolve(), args.format or "json"
    from socialflywheel.config import load_config

    cfg = load_config(args.conf, args.set or [])
    return cfg.landing_dir, args.format or cfg.ingest.format


def build_parser() -> argparse.ArgumentParser:
    """The command line of the gates: ``freshness`` and ``volume`` with their thresholds."""
    parser = argparse.ArgumentParser(prog="python -m socialflywheel.quality", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="gate", required=True)
    for name in ("freshness", "volume"):
        p = sub.add_parser(name)
        p.add_argument("--date", required=True, type=dt.date.fromisoformat, help="Logical date (YYYY-MM-DD).")
        p.add_argument("--conf", default=None, help="Project config (landing folder and format come from it).")
        p.add_argument("--set", action="append", help="Config override key=value (repeatable).")
        p.add_argument("--landing-dir", default=None, help="Landing folder; overrides the config.")
        p.add_argument("--format", choices=sorted(SUBDIRS), default=None, help="Landing format; default from config.")
        if name == "freshness":
            p.add_argument("--max-lag-days", type=int, default=1, help="Oldest allowed newest partition, in days.")
        else:
            p.add_argument("--trailing-days", type=int, default=7, help="Days the mean is taken over.")
            p.add_argument("--min-ratio", type=float, default=0.5, help="Lowest allowed share of the mean.")
            p.add_argument("--max-ratio", type=float, default=2.0, help="Highest allowed multiple of the mean.")
            p.add_argument("--min-history-days", type=int, default=3, help="Fewer trailing days: ratio not checked.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one gate; print its JSON result on stdout and, when it fails, its message on stderr."""
    args = build_parser().parse_args(argv)
    try:
        landing, fmt = _landing(args)
    except ValueError as exc:  # ConfigError is a ValueError: one line, exit 2
        print(f"quality: {exc}", file=sys.stderr)
        return 2
    if args.gate == "freshness":
        result = check_freshness(landing, args.date, max_lag_days=args.max_lag_days, fmt=fmt)
    else:
        result = check_volume(
            landing,
            args.date,
            trailing_days=args.trailing_days,
            min_ratio=args.min_ratio,
            max_ratio=args.max_ratio,
            min_history_days=args.min_history_days,
            fmt=fmt,
        )
    print(result.to_json())
    if not result.passed:
        print(result.message, file=sys.stderr)
        return 1
    print(result.message, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

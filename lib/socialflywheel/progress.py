"""Progress of long steps, on stderr only: a live bar on a terminal, a plain line now and then elsewhere, or nothing.

``FLYWHEEL_PROGRESS`` chooses: ``auto`` (the default: a rich bar when stderr is a terminal, plain lines when it is a
pipe or a log file, as under spark-submit, Airflow or CI), ``rich``, ``plain`` or ``off``. ``flywheel --quiet`` sets
``off`` for the command and every process it starts (the variable is inherited, e.g. by torchrun's ranks).

Stdout is never written: it carries the command's result (tables, ``--json``) and stays parseable.

Usage::

    with progress.task("ingest", total=lines, unit="lines") as bar:
        for batch in batches:
            bar.describe(f"ingest batch {batch.id}")
            ...
            bar.advance(batch.lines)

Tasks nest (the features job's steps inside ``flywheel demo``): they share one live display on a terminal.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

ENV = "FLYWHEEL_PROGRESS"
MODES = ("auto", "rich", "plain", "off")
PLAIN_EVERY_S = 15.0
"""At most one plain line per task this often (plus its first and last), so a log stays readable."""

_clock = time.perf_counter
_live: Progress | None = None
_open = 0


def mode() -> str:
    """The resolved mode: ``rich``, ``plain`` or ``off``.

    Raises:
        ValueError: ``FLYWHEEL_PROGRESS`` is set to something else than one of :data:`MODES`.
    """
    value = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if value not in MODES:
        raise ValueError(f"{ENV}={value!r} is not a progress mode: use one of {', '.join(MODES)}")
    if value == "auto":
        return "rich" if sys.stderr.isatty() else "plain"
    return value


def set_quiet(quiet: bool) -> None:
    """Turn progress off (``--quiet``) for this process and the processes it starts, or back to ``auto``."""
    if quiet:
        os.environ[ENV] = "off"
    elif os.environ.get(ENV) == "off":
        os.environ.pop(ENV)


def quiet() -> bool:
    """Whether progress is off (``--quiet`` or ``FLYWHEEL_PROGRESS=off``)."""
    return mode() == "off"


def _amount(n: float, unit: str) -> str:
    if unit == "bytes":
        for size, suffix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if n >= size:
                return f"{n / size:.1f} {suffix}"
        return f"{n:.0f} B"
    return f"{n:,.0f}"


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Task:
    """One long step's progress; use :func:`task`."""

    def __init__(
        self, description: str, total: float | None, unit: str, *, completed: float, every_s: float, enabled: bool
    ) -> None:
        self.description, self.total, self.unit = description, total, unit
        self.done = self._base = float(completed)
        self._every_s = every_s
        self._mode = mode() if enabled else "off"
        self._start = self._last_line = 0.0
        self._rich_id: TaskID | None = None

    def __enter__(self) -> Task:
        """Show the task (its first plain line, or a bar on the shared display)."""
        global _live, _open
        self._start = self._last_line = _clock()
        if self._mode == "rich":
            if _live is None:
                _live = _new_display()
                _live.start()
            _open += 1
            self._rich_id = _live.add_task(self.description, total=self.total, completed=int(self.done), unit=self.unit)
        elif self._mode == "plain":
            todo = f", {_amount(self.total, self.unit)} {self.unit} to do" if self.total is not None else ""
            self._line(f"started{todo}")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        """Show the outcome: done (count, time, rate) or stopped by the exception."""
        global _live, _open
        elapsed = _clock() - self._start
        if self._mode == "rich" and _live is not None and self._rich_id is not None:
            _live.update(self._rich_id, completed=self.done, total=self.total if kind is None else None)
            _open -= 1
            if _open:  # a nested task leaves the display when it ends; the outermost stays as the record
                _live.remove_task(self._rich_id)
            else:
                _live.stop()
                _live = None
        elif self._mode == "plain":
            verdict = "done" if kind is None else f"stopped ({kind.__name__})"
            self._line(f"{verdict}, {self._counted()} in {_duration(elapsed)} ({self._rate(elapsed)})")

    def describe(self, description: str) -> None:
        """Say what the task is doing now (e.g. the step's name); shown on the bar, and on the next plain line."""
        self.description = description
        if self._mode == "rich" and _live is not None and self._rich_id is not None:
            _live.update(self._rich_id, description=description)

    def set_total(self, total: float | None) -> None:
        """Change the amount to do (the plan changed on the way)."""
        self.total = total
        if self._mode == "rich" and _live is not None and self._rich_id is not None:
            _live.update(self._rich_id, total=total)

    def advance(self, n: float = 1) -> None:
        """Count ``n`` more units done."""
        self.done += n
        if self._mode == "rich" and _live is not None and self._rich_id is not None:
            _live.update(self._rich_id, advance=n)
        elif self._mode == "plain":
            now = _clock()
            finished = self.total is not None and self.done >= self.total  # its closing line follows
            if now - self._last_line >= self._every_s and not finished:
                elapsed = now - self._start
                eta = ""
                if self.total and self._base < self.done < self.total:
                    eta = f", ETA {_duration((self.total - self.done) * elapsed / (self.done - self._base))}"
                self._line(f"{self._counted()} ({self._rate(elapsed)}{eta})")

    def _counted(self) -> str:
        if self.total is None:
            return f"{_amount(self.done, self.unit)} {self.unit}"
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        return f"{_amount(self.done, self.unit)}/{_amount(self.total, self.unit)} {self.unit}{share}"

    def _rate(self, elapsed: float) -> str:
        return f"{_amount((self.done - self._base) / max(elapsed, 1e-9), self.unit)} {self.unit}/s"

    def _line(self, text: str) -> None:
        self._last_line = _clock()  # the text never holds ": ", so a line splits at its last one
        sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {self.description}: {text}\n")
        sys.stderr.flush()


def _new_display() -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Task as RichTask
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: RichTask) -> Text:
            speed = task.finished_speed or task.speed
            unit = task.fields["unit"]
            return Text(f"{_amount(speed, unit)} {unit}/s" if speed else "", style="progress.data.speed")

    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        Rate(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )


def task(
    description: str, total: float | None = None, unit: str = "steps", *, completed: float = 0, enabled: bool = True
) -> Task:
    """A progress task for a long step (a context manager); ``total`` None: the amount is not known ahead.

    Args:
        description: What is being done, e.g. ``"ingest"``; :meth:`Task.describe` changes it as work goes on.
        total: Units to do, when known (gives the share done and the ETA).
        unit: What is counted: ``lines``, ``examples``, ``users``, ``steps``; ``bytes`` is shown as KiB/MiB/GiB.
        completed: Units already done before this run (a resumed epoch): counted as done, not in the rate.
        enabled: False: nothing is shown whatever the mode (e.g. every rank but rank 0 of a training).
    """
    return Task(description, total, unit, completed=completed, every_s=PLAIN_EVERY_S, enabled=enabled)

"""Where the `flywheel` command's log records go: stderr (rich on a terminal, plain lines elsewhere) and a log file."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from socialflywheel import progress
from socialflywheel.console import console as _console

log = logging.getLogger("socialflywheel")


def setup_logging(level: int = logging.INFO, *, log_dir: Path | None = None) -> None:
    """Log on stderr at ``level`` (warnings only under ``--quiet``), once per process.

    Through rich on a terminal, one plain line per record elsewhere (a pipe, a log file: never wrapped).

    Chatty libraries are held to warnings and MLflow's artifact download bars are off (the job's own progress
    says what is happening). Python warnings (deprecations and hints from libraries) become log records that go
    only to ``<log_dir>/flywheel.log`` when ``log_dir`` is given, which also keeps every record at INFO and above.
    """
    from rich.logging import RichHandler

    if progress.quiet():
        level = max(level, logging.WARNING)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    root = logging.getLogger()
    console = next((h for h in root.handlers if getattr(h, "_flywheel_console", False)), None)
    if console is None:
        if sys.stderr.isatty():
            console = RichHandler(show_path=False, rich_tracebacks=False, console=_console(stderr=True))
            console.setFormatter(logging.Formatter("%(message)s", datefmt="[%X]"))
        else:  # a pipe or a log file: one unwrapped line per record, like the progress lines
            console = _StderrHandler()
            console.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s %(message)s", datefmt="%H:%M:%S"))
        setattr(console, "_flywheel_console", True)  # noqa: B010 (a mark on a library object)
        root.addHandler(console)
    console.setLevel(level)
    root.setLevel(min(level, logging.INFO))
    for noisy in ("py4j", "alembic", "mlflow", "urllib3", "matplotlib", "numba", "git", "faiss"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if log_dir is not None:
        _log_file(root, log_dir / "flywheel.log")


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler on whatever ``sys.stderr`` is when a record comes (a test runner swaps it per command)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def _log_file(root: logging.Logger, path: Path) -> None:
    """Keep every record in ``path`` (one handler per process, moved when the work folder changes)."""
    for h in root.handlers:
        if isinstance(h, logging.FileHandler) and getattr(h, "_flywheel", False):
            if h.baseFilename == str(path.resolve()):
                return
            root.removeHandler(h)
            h.close()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        log.warning("no log file (%s): library warnings stay on the console", exc)
        return
    setattr(handler, "_flywheel", True)  # noqa: B010 (a mark on a library object)
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    logging.captureWarnings(True)
    warned = logging.getLogger("py.warnings")
    warned.propagate = False  # library warnings are kept in the file, not shown among the job's own lines
    warned.handlers = [handler]

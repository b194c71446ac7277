"""Landing files: discover them, fingerprint them, check their names, and group them into bounded batches."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa
import pyarrow.fs as pa_fs

from socialflywheel.ingest.parse import Limits, utf8_storable
from socialflywheel.lake.storage import Location, StorageError, is_remote, locate, probe

if TYPE_CHECKING:
    from socialflywheel.config.stages import IngestConfig

SUBDIR = {"json": ("events", "*.jsonl"), "parquet": ("events_parquet", "*.parquet")}

log = logging.getLogger(__name__)


class UnreadableLandingFile(OSError):
    """A landing file that exists by name but cannot be read."""


@dataclass(frozen=True)
class LandingFile:
    """A landing file with the fingerprint the ledger keeps."""

    rel: str
    """The name relative to the landing root (escaped when ``problem`` is set: it is not the name on disk then)."""
    uri: str
    size: int
    sha256: str
    lines: int = 1
    """Line numbers the file spans (Parquet: rows); at least 1. Batches are bounded by it."""
    problem: str | None = None
    """Why the engine cannot take the file by its name (None: it can); such a file is one quarantine row."""
    name_bytes: bytes = b""
    """The name's own bytes (relative to the landing root) when ``problem`` is set: the quarantine row's raw."""
    part: tuple[int, int] | None = None
    """The first and last line a batch takes of a file too long for one batch (None: the whole file)."""

    @property
    def line_count(self) -> int:
        """Lines of the file this (part of a) file spans."""
        return self.lines if self.part is None else self.part[1] - self.part[0] + 1

    @property
    def completes(self) -> bool:
        """Whether taking this (part of the) file finishes the file (its last part, or the whole of it)."""
        return self.part is None or self.part[1] >= self.lines


class _Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


def _fingerprint(fh: _Readable) -> tuple[str, int]:
    """The SHA-256 (hex) and the number of lines (at least 1) of an open binary file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    newlines, last = 0, b"\n"
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        digest.update(chunk)
        newlines += chunk.count(b"\n")
        last = chunk[-1:]
    # Parquet rows are counted from the footer (by the caller); a line count bounds them for a damaged file.
    return digest.hexdigest(), max(1, newlines + (last != b"\n"))


# Engines read a file by its name: Sail's object-store paths refuse control characters, a name that is not UTF-8
# cannot be passed to the engine at all, and Spark and Sail skip names starting with "." or "_" without a word.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def name_problem(name: str) -> str | None:
    """What in a file's name or path keeps an engine from taking the file by it, or None."""
    if not utf8_storable(name):
        return "a byte that is not UTF-8"
    if _CONTROL.search(name):
        return "a control character (newline, tab, CR...)"
    if ":" in name.split("://", 1)[-1]:  # Hadoop paths (JVM Spark) cannot hold one past the scheme
        return "a ':' (JVM Spark's Hadoop paths cannot hold one)"
    if name.rsplit("/", 1)[-1].startswith((".", "_")):
        return "a leading '.' or '_' (engines skip such files as hidden)"
    return None


_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def escape_name(rel: str) -> str:
    r"""A file name as printable UTF-8 text, for the ledger, the quarantine and messages.

    Bytes that are not UTF-8 become ``\xNN`` (a name read from disk holds them as surrogates, Python's
    surrogateescape), control characters ``\n``, ``\t``, ``\r`` or ``\uNNNN``, and a backslash ``\\``.
    """
    out = []
    for c in rel:
        code = ord(c)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(f"\\x{code - 0xDC00:02x}")
        elif c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif _CONTROL.match(c) or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(c)
    return "".join(out)


def discover(landing_uri: str, fmt: str) -> list[LandingFile]:
    """Every landing file of the format under a local folder or an object-store prefix, sorted by relative path.

    A file the engine cannot take by its name (see :func:`name_problem`) is listed too, escaped and with its
    problem: ingest makes it one quarantine row and one ledger entry instead of failing the batch.

    Raises:
        StorageError: the landing location does not exist or cannot be reached (one line naming it).
        UnreadableLandingFile: a file is listed but cannot be read; nothing is written.
    """
    sub, pattern = SUBDIR[fmt]
    probe(landing_uri, what="landing folder", must_exist=True)
    loc = locate(landing_uri)
    remote = is_remote(landing_uri)
    listed = _list_remote(loc, sub, pattern) if remote else _list_local(Path(loc.path), sub, pattern)
    root = Path(loc.path).resolve()
    files = []
    for rel, path in listed:
        problem = None
        # A dangling link is not "outside": it cannot be read at all, which fails the batch as any unreadable file.
        outside = not remote and os.path.exists(path) and not Path(path).is_relative_to(root)
        if why := name_problem(rel):
            problem = f"its name has {why}"
        elif outside:  # a link to /etc/passwd must not put its bytes in bronze.quarantine
            problem = "it links out of the landing folder (the target is never read)"
        elif not remote and (why := name_problem(path)):  # the engine reads it by its resolved path (a link's target)
            problem = f"its path {escape_name(path)} has {why}"
        name = escape_name(rel) if problem else rel
        if outside:
            files.append(LandingFile(name, loc.child_uri(path), 0, _name_digest(rel), 1, problem, os.fsencode(rel)))
            continue
        try:  # a dangling link, a vanished or unreadable file fails the batch before anything is written
            if remote:
                info = loc.fs.get_file_info(path)
                if info.type != pa_fs.FileType.File:
                    raise FileNotFoundError(2, "No such file or directory")
                size = int(info.size or 0)
                with loc.fs.open_input_stream(path) as fh:
                    sha, lines = _fingerprint(fh)
            else:  # Python's own calls take any local name (pyarrow's need UTF-8)
                st = os.stat(path)
                if not stat.S_ISREG(st.st_mode):  # a FIFO would block the read forever
                    raise FileNotFoundError(2, "Not a regular file")
                size = st.st_size
                with open(path, "rb") as fh:
                    sha, lines = _fingerprint(fh)
            if fmt == "parquet" and problem is None:
                lines = _parquet_rows(loc.fs, path, lines)
        except OSError as exc:
            reason = exc.strerror or exc
            raise UnreadableLandingFile(
                f"landing file {name} cannot be read ({reason}); the batch was not started, nothing written"
            ) from None
        raw_name = os.fsencode(rel) if problem else b""
        files.append(LandingFile(name, loc.child_uri(path), size, sha, lines, problem, raw_name))
    return files


_DAY_PARTITION = re.compile(r"(?:^|/)(?:date|dt|event_date|ds)=(\d{4}-\d{2}-\d{2})(?:/|$)")


class LandingError(ValueError):
    """The landing location holds no file of the configured format (a missing or mistyped path)."""


def discover_some(landing_uri: str, fmt: str) -> list[LandingFile]:
    """:func:`discover`, where finding no file at all is an error: a typo in a path is never a green run.

    Raises:
        LandingError: no landing file of the format (taken before or not) under the location.
    """
    found = discover(landing_uri, fmt)
    if not found:
        sub, pattern = SUBDIR[fmt]
        raise LandingError(
            f"no landing files under {landing_uri} (looked for {sub}/{pattern}): check ingest.landing_dir and"
            " ingest.format, or put the files there first"
        )
    return found


def landing_day(rel: str) -> dt.date | None:
    """The day of a landing file's partition folder (``events/date=2026-11-01/part-0.jsonl``), None when undated."""
    found = _DAY_PARTITION.search(rel)
    if found is None:
        return None
    try:
        return dt.date.fromisoformat(found.group(1))
    except ValueError:  # date=2026-13-45: not a day, so not a partition this rule can place
        return None


def on_or_before(files: list[LandingFile], until: dt.date | None) -> list[LandingFile]:
    """The files a run for the logical date ``until`` takes: undated ones and those of days up to it (all if None)."""
    if until is None:
        return files
    kept = [f for f in files if (day := landing_day(f.rel)) is None or day <= until]
    if later := len(files) - len(kept):
        log.info("ingest for %s: %d landing files of later days are left for their own runs", until, later)
    return kept


def _name_digest(rel: str) -> str:
    """A ledger fingerprint for a file whose content is never read: the digest of its name."""
    return hashlib.sha256(b"name:" + os.fsencode(rel)).hexdigest()


def _parquet_rows(fs: pa_fs.FileSystem, path: str, default: int) -> int:
    """A Parquet file's row count from its footer (``default`` for a damaged file: parsing then quarantines it)."""
    import pyarrow.parquet as pq

    try:
        with fs.open_input_file(path) as fh:
            rows: int = pq.read_metadata(fh).num_rows
            return max(1, rows)
    except (OSError, ValueError, pa.ArrowException):
        return default


def _list_local(root: Path, sub: str, pattern: str) -> list[tuple[str, str]]:
    """(relative name, resolved path) of local files; dangling links are listed (and then fail the batch).

    One walk of the folder: the files that do not match ``pattern`` (``.gz``, other suffixes) are named in one
    warning, since ingest does not take them.
    """
    import fnmatch

    folder = root / sub
    files = sorted(p for p in folder.rglob("*") if not p.is_dir()) if folder.is_dir() else []
    others = [str(p.relative_to(root)) for p in files if not fnmatch.fnmatch(p.name, pattern)]
    if others:
        more = f" and {len(others) - 5} more" if len(others) > 5 else ""
        log.warning(
            "landing: %d file(s) under %s are not %s files and are not taken: %s (decompress .gz files; rename or "
            "move the others)",
            len(others),
            sub,
            pattern,
            ", ".join(escape_name(o) for o in others[:5]) + more,
        )
    return [(str(p.relative_to(root)), str(p.resolve())) for p in files if fnmatch.fnmatch(p.name, pattern)]


def _list_remote(loc: Location, sub: str, pattern: str) -> list[tuple[str, str]]:
    """(relative name, bucket/key) of the objects under the landing prefix."""
    import pyarrow.fs as pa_fs

    try:
        infos = loc.fs.get_file_info(pa_fs.FileSelector(f"{loc.path}/{sub}", recursive=True, allow_not_found=True))
    except OSError as exc:
        raise StorageError(f"landing folder {loc.uri} cannot be listed: {' '.join(str(exc).split())}") from None
    suffix = pattern.lstrip("*")
    return sorted(
        (i.path[len(loc.path) :].lstrip("/"), i.path)
        for i in infos
        if i.type == pa_fs.FileType.File and i.path.endswith(suffix)
    )


def limits_from(ingest: IngestConfig) -> Limits:
    """The validator's limits from the ``ingest`` section (the newest plausible ts is counted from now)."""
    min_ts = dt.datetime.fromisoformat(ingest.min_ts.replace("Z", "+00:00"))
    return Limits(
        max_text_bytes=ingest.max_text_bytes,
        max_line_bytes=ingest.max_line_bytes,
        min_ts=min_ts if min_ts.tzinfo else min_ts.replace(tzinfo=dt.UTC),
        max_ts=dt.datetime.now(dt.UTC) + dt.timedelta(hours=ingest.max_future_hours),
    )


def split_batches(
    files: list[LandingFile], *, max_files: int, max_bytes: int, max_lines: int
) -> list[list[LandingFile]]:
    """Consecutive groups of files, each at most ``max_files`` files, ``max_bytes`` and ``max_lines`` lines.

    A file of more than ``max_lines`` lines is taken in parts of ``max_lines`` lines (its ``part``), each part
    a batch of its own but the last; a file of more than ``max_bytes`` makes a batch of its own.
    """
    groups: list[list[LandingFile]] = []
    current: list[LandingFile] = []
    size = lines = 0
    for f in chain.from_iterable(_parts(f, max_lines) for f in files):
        # A file with a bad name is not read: one row.
        f_bytes, f_lines = (0, 1) if f.problem else (f.size * f.line_count // f.lines, f.line_count)
        if current and (len(current) >= max_files or size + f_bytes > max_bytes or lines + f_lines > max_lines):
            groups.append(current)
            current, size, lines = [], 0, 0
        current.append(f)
        size += f_bytes
        lines += f_lines
    if current:
        groups.append(current)
    return groups


def _parts(f: LandingFile, max_lines: int) -> list[LandingFile]:
    """A file as the parts of at most ``max_lines`` lines a batch can take (the file itself when it fits)."""
    if f.lines <= max_lines or f.problem:
        return [f]
    return [replace(f, part=(first, min(first + max_lines - 1, f.lines))) for first in range(1, f.lines + 1, max_lines)]

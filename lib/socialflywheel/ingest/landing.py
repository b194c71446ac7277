"""Landing files: discover them, fingerprint them, and parse them in parallel on the engine."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.fs as pa_fs

from socialflywheel.ingest.parse import Limits, Rejected, parse_line, split_lines, validate
from socialflywheel.lake.catalog import EVENT_FIELDS, spark_ddl, table
from socialflywheel.lake.catalog.table import BIN, I64, STR
from socialflywheel.lake.storage import Location, StorageError, is_remote, locate, probe

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.config import FlywheelConfig

SUBDIR = {"json": ("events", "*.jsonl"), "parquet": ("events_parquet", "*.parquet")}

# What the parse step emits per line, derived from the catalog: the event contract with bronze.events' extras and
# partition date, then the line's own columns (its status and detail, raw bytes and where it came from).
_BRONZE = table("bronze.events").schema
_LINE_FIELDS: tuple[pa.Field, ...] = (
    pa.field("status", STR),
    pa.field("detail", STR),
    pa.field("raw", BIN),
    pa.field("source_file", STR),
    pa.field("file_sha256", STR),
    pa.field("line_no", I64),
)
PARSED_ARROW = pa.schema([*EVENT_FIELDS, _BRONZE.field("extras"), _BRONZE.field("event_date"), *_LINE_FIELDS])
PARSED_SCHEMA = spark_ddl(PARSED_ARROW)
_EVENT_NAMES = PARSED_ARROW.names[: len(PARSED_ARROW.names) - len(_LINE_FIELDS)]


class UnreadableLandingFile(OSError):
    """A landing file that exists by name but cannot be read."""


@dataclass(frozen=True)
class LandingFile:
    """A landing file with the fingerprint the ledger keeps."""

    rel: str
    uri: str
    size: int
    sha256: str


def sha256_stream(fs: pa_fs.FileSystem, path: str) -> str:
    """The SHA-256 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with fs.open_input_stream(path) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def discover(landing_uri: str, fmt: str) -> list[LandingFile]:
    """Every landing file of the format under a local folder or an object-store prefix, sorted by relative path.

    Raises:
        StorageError: the landing location does not exist or cannot be reached (one line naming it).
        UnreadableLandingFile: a file is listed but cannot be read; nothing is written.
    """
    sub, pattern = SUBDIR[fmt]
    probe(landing_uri, what="landing folder", must_exist=True)
    loc = locate(landing_uri)
    listed = _list_remote(loc, sub, pattern) if is_remote(landing_uri) else _list_local(Path(loc.path), sub, pattern)
    files = []
    for rel, path in listed:
        try:  # a dangling link, a vanished or unreadable file fails the batch before anything is written
            info = loc.fs.get_file_info(path)
            if info.type != pa_fs.FileType.File:
                raise FileNotFoundError(2, "No such file or directory")
            files.append(LandingFile(rel, loc.child_uri(path), int(info.size or 0), sha256_stream(loc.fs, path)))
        except OSError as exc:
            raise UnreadableLandingFile(
                f"landing file {rel} cannot be read ({exc.strerror or exc}); the batch was not started, nothing written"
            ) from None
    return files


def _list_local(root: Path, sub: str, pattern: str) -> list[tuple[str, str]]:
    """(relative name, resolved path) of local files; dangling links are listed (and then fail the batch)."""
    return [(str(p.relative_to(root)), str(p.resolve())) for p in sorted((root / sub).rglob(pattern)) if not p.is_dir()]


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


def limits_from(cfg: FlywheelConfig) -> Limits:
    """The validator's limits from the ``ingest`` config (the newest plausible ts is counted from now)."""
    min_ts = dt.datetime.fromisoformat(cfg.ingest.min_ts.replace("Z", "+00:00"))
    return Limits(
        max_text_bytes=cfg.ingest.max_text_bytes,
        max_line_bytes=cfg.ingest.max_line_bytes,
        min_ts=min_ts if min_ts.tzinfo else min_ts.replace(tzinfo=dt.UTC),
        max_ts=dt.datetime.now(dt.UTC) + dt.timedelta(hours=cfg.ingest.max_future_hours),
    )


def _records(content: bytes, fmt: str) -> Iterator[tuple[int, bytes, Any]]:
    """(line_no, raw bytes, decoded record or a Rejected) for each row of a file."""
    if fmt == "json":
        for number, line in split_lines(content):
            yield number, line, None
        return
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(content))
    for number, row in enumerate(table.to_pylist(), start=1):
        raw = json.dumps(row, default=str, sort_keys=True).encode()
        yield number, raw, row


def parse_content(
    content: bytes, *, rel: str, sha: str, fmt: str, limits: Limits, mapping: dict[str, str], chunk: int = 20_000
) -> Iterator[dict[str, list[Any]]]:
    """Parse one file into column chunks of PARSED_SCHEMA (good rows have status None).

    Chunks of ``chunk`` rows keep the Python objects of a large file from piling up in memory.
    """
    cols: dict[str, list[Any]] = {name: [] for name in PARSED_ARROW.names}
    for number, raw, record in _records(content, fmt):
        if len(cols["line_no"]) >= chunk:
            yield cols
            cols = {name: [] for name in cols}
        try:
            event = parse_line(raw, limits, mapping) if record is None else validate(record, limits, mapping)
            status, detail = None, None
        except Rejected as rej:
            event, status, detail = {}, rej.reason, rej.detail
        for name in _EVENT_NAMES:
            cols[name].append(event.get(name))
        cols["status"].append(status)
        cols["detail"].append(detail)
        cols["raw"].append(raw)
        cols["source_file"].append(rel)
        cols["file_sha256"].append(sha)
        cols["line_no"].append(number)
    if cols["line_no"]:
        yield cols


def _path_key(uri: str) -> str:
    """The path alone of a file's location, the part every engine spells the same.

    Engines spell a location differently (file:///x, file:/x, /x, s3a://bucket/k, k): Sail's binaryFile gives an
    object's key without the bucket, Spark the whole URI.
    """
    return unquote(urlparse(uri).path).lstrip("/")


def parse_files(
    spark: SparkSession, files: list[LandingFile], *, fmt: str, limits: Limits, mapping: dict[str, str]
) -> DataFrame:
    """Read files as bytes with ``binaryFile`` and parse every line in ``mapInArrow`` tasks.

    Sail's JSON reader fails a whole file on one bad line and cannot keep raw bytes, so lines are
    decoded by Python's own JSON decoder here; every bad line becomes a row with its reason.
    """
    by_path = {_path_key(f.uri): (f.rel, f.sha256) for f in files}
    schema = PARSED_ARROW

    def parse_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            paths = batch.column("path").to_pylist()
            contents = batch.column("content").to_pylist()
            for uri, content in zip(paths, contents, strict=True):
                rel, sha = by_path[_path_key(uri)]
                for cols in parse_content(content, rel=rel, sha=sha, fmt=fmt, limits=limits, mapping=mapping):
                    yield pa.RecordBatch.from_pydict(cols, schema=schema)

    raw = spark.read.format("binaryFile").load([f.uri for f in files])
    parsed = raw.select("path", "content").mapInArrow(parse_batches, PARSED_SCHEMA)
    # Seen with Sail 0.7.2: binaryFile returned one of 112 files twice. A line is identified by its
    # file and number, so keeping one row per (file, line) makes the parse exact on any engine.
    return parsed.dropDuplicates(["file_sha256", "line_no"])

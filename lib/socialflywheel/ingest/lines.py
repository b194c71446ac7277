"""Landing bytes -> one parsed row per line, as Arrow batches, on the engine.

The per-file step is pure (tests drive it without an engine); :func:`parse_files` runs it over a batch's files in
``mapInArrow`` tasks.
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pyarrow as pa

from socialflywheel.ingest.columnar import UTF8_BOM, chunk_batch, json_lines
from socialflywheel.ingest.fastparse import fast_event
from socialflywheel.ingest.landing import LandingFile, escape_name
from socialflywheel.ingest.locations import engine_key, engine_location, file_key, is_jvm_session
from socialflywheel.ingest.mapped_batch import SEEN_PREFIX, mapped_lines_batch
from socialflywheel.ingest.mapping import Mapper
from socialflywheel.ingest.mapping_columnar import supported
from socialflywheel.ingest.parse import (
    Limits,
    Rejected,
    check_storable,
    decode_line,
    parse_line,
    utf8_storable,
    validate,
)
from socialflywheel.lake.catalog import EVENT_FIELDS, spark_ddl, table
from socialflywheel.lake.catalog.table import BIN, I64, STR

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

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
_EVENT_ARROW = pa.schema(PARSED_ARROW.field(name) for name in _EVENT_NAMES)

FieldMapping = dict[str, str] | Mapper
"""``ingest.field_mapping`` (top-level renames) or a source mapping (``ingest.source``)."""


class LandingParseError(RuntimeError):
    """Parsing a landing file failed outside the per-line guard; the message names the file (and line) in one line."""


# Rows per column chunk and raw bytes per chunk (whichever comes first): the Python objects of one chunk are all a
# parse task holds of a file beyond its bytes (20,000 lines of up to max_line_bytes would be 1.3 GB of raw alone).
CHUNK_ROWS = 20_000
CHUNK_BYTES = 16 << 20


def _records(content: bytes, fmt: str, part: tuple[int, int] | None) -> Iterator[tuple[int, bytes, Any]]:
    """(line_no, raw bytes, decoded record or None for a JSON line still to decode) for each row of a file.

    A Parquet file that cannot be read is one row, line 0, rejected as ``unreadable_file``.
    """
    first, last = part or (1, None)
    if fmt == "json":
        for number, line in json_lines(content, first, last):  # iter_lines' lines, split a block at a time
            yield number, line, None
        return
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
        table = table.slice(first - 1, None if last is None else last - first + 1)
        batches = table.to_batches(max_chunksize=1024)
    except (OSError, ValueError, pa.ArrowException) as exc:
        yield 0, b"", Rejected("unreadable_file", f"not readable as Parquet: {one_line(exc)}")
        return
    number = first
    for batch in batches:
        try:
            rows: list[Any] = batch.to_pylist()
        except (ValueError, OverflowError, pa.ArrowException):  # a value Python cannot hold: find its rows
            rows = [_parquet_row(batch, i) for i in range(batch.num_rows)]
        for row in rows:
            record, values = (row, row) if isinstance(row, dict) else row
            yield number, json.dumps(values, default=str, sort_keys=True).encode(), record
            number += 1


def _parquet_row(batch: pa.RecordBatch, i: int) -> dict[str, Any] | tuple[Rejected, dict[str, Any]]:
    """Row ``i`` of a batch as a record, or its rejection and its values (Arrow's text for those Python cannot hold).

    A Parquet value can lie outside what Python holds (a timestamp or date past year 9999).
    """
    values: dict[str, Any] = {}
    failed = []
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        try:
            values[name] = column[i].as_py()
        except (ValueError, OverflowError, pa.ArrowException):
            values[name] = _arrow_text(column.slice(i, 1))
            failed.append(name)
    if not failed:
        return values
    return Rejected("unrepresentable", f"{failed[0]}: {values[failed[0]]} is out of range"), values


def _arrow_text(value: pa.Array) -> str:
    """A one-value array as Arrow spells it (no Python object is made of the value)."""
    try:
        return str(value.cast(pa.string())[0].as_py())
    except (ValueError, OverflowError, pa.ArrowException):
        return f"a {value.type} value"


def one_line(exc: BaseException, limit: int = 160) -> str:
    """An exception as one line of storable text, at most ``limit`` characters."""
    return _storable(" ".join(f"{type(exc).__name__}: {exc}".split())[:limit])


def _storable(text: str) -> str:
    """``text`` with any lone surrogate backslash-escaped (UTF-8, and so Arrow, cannot hold one)."""
    return text if utf8_storable(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def parse_content(
    content: bytes,
    *,
    rel: str,
    sha: str,
    fmt: str,
    limits: Limits,
    mapping: FieldMapping,
    part: tuple[int, int] | None = None,
    chunk: int = CHUNK_ROWS,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[dict[str, list[Any]]]:
    """Parse one file (or the lines ``part`` names) into column chunks of PARSED_SCHEMA (good rows: status None).

    Every line gives exactly one row: any failure to decode, validate or convert it becomes the row's reason.
    Chunks of ``chunk`` rows or ``chunk_bytes`` raw bytes keep a large file's Python objects bounded in memory.
    This is the per-line path; :func:`file_batches` takes JSON chunks columnar and gives the same batches.

    Raises:
        LandingParseError: reading the file's lines failed (not one line's content): one line naming file and line.
    """
    if isinstance(mapping, Mapper):
        for records in _record_chunks(content, rel, fmt, part, chunk, chunk_bytes):
            yield _columns(
                [row for n, raw, record in records for row in _mapped_rows(n, raw, record, rel, sha, limits, mapping)]
            )
        return
    fast = fmt == "json" and not mapping  # the fast paths know the contract's own field names only
    for records in _record_chunks(content, rel, fmt, part, chunk, chunk_bytes):
        yield _columns([_line_row(n, raw, record, rel, sha, limits, mapping, fast) for n, raw, record in records])


def _record_chunks(
    content: bytes, rel: str, fmt: str, part: tuple[int, int] | None, chunk: int, chunk_bytes: int
) -> Iterator[list[tuple[int, bytes, Any]]]:
    """A file's :func:`_records` in chunks of ``chunk`` rows or ``chunk_bytes`` raw bytes, whichever comes first.

    Both parse paths cut a file here, so their batches hold the same lines.

    Raises:
        LandingParseError: reading the file's lines failed (not one line's content): one line naming file and line.
    """
    records: list[tuple[int, bytes, Any]] = []
    size = number = 0
    try:
        for number, raw, record in _records(content, fmt, part):
            if len(records) >= chunk or size >= chunk_bytes:
                yield records
                records, size = [], 0
            size += len(raw)
            records.append((number, raw, record))
    except Exception as exc:  # reading the file itself failed: one line naming it, not a task's traceback
        raise LandingParseError(f"landing file {rel}: reading failed after line {number}: {one_line(exc)}") from None
    if records:
        yield records


def _line_row(
    number: int, raw: bytes, record: object, rel: str, sha: str, limits: Limits, mapping: dict[str, str], fast: bool
) -> Sequence[Any]:
    """One line's row in PARSED_ARROW order: the fast path's event if it takes the line, else the exact parser's."""
    # A UTF-8 byte order mark (Windows tools write one) is not line 1's JSON.
    line = raw.removeprefix(UTF8_BOM) if number == 1 and record is None else raw
    if fast and record is None and (values := fast_event(line, limits)) is not None:
        values += (None, None, raw, rel, sha, number)
        return values
    try:
        if isinstance(record, Rejected):
            raise record
        event = parse_line(line, limits, mapping) if record is None else validate(record, limits, mapping)
        status, detail = None, None
    except Rejected as rej:
        event, status, detail = {}, rej.reason, _storable(rej.detail)
    except Exception as exc:  # a failure no rule names still stays with its line (its detail says what)
        event, status, detail = {}, "parse_error", one_line(exc)
    return (*(event.get(name) for name in _EVENT_NAMES), status, detail, raw, rel, sha, number)


def _mapped_rows(
    number: int, raw: bytes, record: object, rel: str, sha: str, limits: Limits, mapper: Mapper
) -> list[Sequence[Any]]:
    """One source record's rows: one per event its mapping makes, or one rejected row for the whole line.

    A good row's ``detail`` carries the mapping's paths the record held (:data:`SEEN_PREFIX`), for the batch's
    check that every path of the mapping matched something.
    """
    line = raw.removeprefix(UTF8_BOM) if number == 1 and record is None else raw
    where = (raw, rel, sha, number)
    try:
        if isinstance(record, Rejected):
            raise record
        events = mapper.apply(decode_line(line, limits) if record is None else record, limits)
        if record is None and b"\\u" in line:
            for event in events:
                check_storable(event)
    except Rejected as rej:
        mapper.take_seen()
        return [(*(None for _ in _EVENT_NAMES), rej.reason, _storable(rej.detail), *where)]
    except Exception as exc:  # a failure no rule names still stays with its line (its detail says what)
        mapper.take_seen()
        return [(*(None for _ in _EVENT_NAMES), "parse_error", one_line(exc), *where)]
    seen = f"{SEEN_PREFIX}{mapper.take_seen():x}"
    return [(*(event.get(name) for name in _EVENT_NAMES), None, seen, *where) for event in events]


def _json_chunk(
    records: list[tuple[int, bytes, Any]], rel: str, sha: str, limits: Limits, mapping: FieldMapping
) -> dict[str, list[Any]] | pa.RecordBatch:
    """A chunk of a JSON file, columnar: the per-line path's batch for it (contract lines, or mapped ones).

    Should anything fail on the chunk as a whole, every line of it takes the per-line path (column lists returned).
    """
    numbers, raws = [n for n, _, _ in records], [raw for _, raw, _ in records]

    def per_line(which: Iterable[int]) -> list[Sequence[Any]]:
        if isinstance(mapping, Mapper):
            return [row for i in which for row in _mapped_rows(numbers[i], raws[i], None, rel, sha, limits, mapping)]
        return [_line_row(numbers[i], raws[i], None, rel, sha, limits, {}, True) for i in which]

    def mapped_per_line(which: list[int]) -> tuple[pa.RecordBatch, list[int]]:
        rows = [(i, row) for i in which for row in per_line([i])]
        return to_record_batch(_columns([row for _, row in rows])), [i for i, _ in rows]

    try:
        if isinstance(mapping, Mapper):
            where = (rel, sha)
            return mapped_lines_batch(numbers, raws, where, limits, mapping, PARSED_ARROW, mapped_per_line)
        args = (numbers, raws, rel, sha, limits, PARSED_ARROW, _EVENT_ARROW)
        return chunk_batch(*args, per_line=lambda rest: to_record_batch(_columns(per_line(rest))))
    except Exception:  # any doubt about the chunk as a whole: today's path for every line of it
        return _columns(per_line(range(len(raws))))


def _columns(rows: list[Sequence[Any]]) -> dict[str, list[Any]]:
    """Rows in PARSED_ARROW order as its columns (lists: a row Arrow refuses is mended in place)."""
    return {name: list(values) for name, values in zip(PARSED_ARROW.names, zip(*rows, strict=True), strict=True)}


def to_record_batch(cols: dict[str, list[Any]]) -> pa.RecordBatch:
    """A chunk's columns as an Arrow batch of PARSED_ARROW.

    Should a row's values still not convert (the parser let through a value Arrow refuses), the chunk is converted
    row by row and each such row keeps its line, raw bytes and place, with its values dropped and the reason
    ``unrepresentable``.
    """
    try:
        return pa.RecordBatch.from_pydict(cols, schema=PARSED_ARROW)
    except Exception:  # any conversion failure: the rows at fault are found below
        pass
    for i in range(len(cols["line_no"])):
        try:
            pa.RecordBatch.from_pydict({name: values[i : i + 1] for name, values in cols.items()}, schema=PARSED_ARROW)
        except Exception as exc:  # the row at fault: keep its line, drop its values
            for name in _EVENT_NAMES:
                cols[name][i] = None
            cols["status"][i] = "unrepresentable"
            cols["detail"][i] = f"row not convertible to Arrow: {one_line(exc)}"
    return pa.RecordBatch.from_pydict(cols, schema=PARSED_ARROW)


def file_batches(
    content: bytes,
    file: LandingFile,
    *,
    fmt: str,
    limits: Limits,
    mapping: FieldMapping,
    columnar: bool = True,
    chunk: int = CHUNK_ROWS,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[pa.RecordBatch]:
    """Parse one landing file (or its ``part``) into Arrow batches of PARSED_ARROW, as each parse task does.

    ``columnar`` takes a JSON file's lines chunk by chunk in native code (the same batches as without it, faster);
    ``chunk`` and ``chunk_bytes`` bound a batch's rows and raw bytes as in :func:`parse_content`.

    Raises:
        LandingParseError: something failed outside the per-line guard: one line naming the file and line.
    """
    chunks: Iterator[dict[str, list[Any]] | pa.RecordBatch]
    if columnar and fmt == "json" and (not mapping or (isinstance(mapping, Mapper) and supported(mapping))):
        chunks = (
            _json_chunk(records, file.rel, file.sha256, limits, mapping)
            for records in _record_chunks(content, file.rel, "json", file.part, chunk, chunk_bytes)
        )
    else:
        chunks = parse_content(
            content,
            rel=file.rel,
            sha=file.sha256,
            fmt=fmt,
            limits=limits,
            mapping=mapping,
            part=file.part,
            chunk=chunk,
            chunk_bytes=chunk_bytes,
        )
    for cols in chunks:
        if isinstance(cols, pa.RecordBatch):
            yield cols
            continue
        try:
            batch = to_record_batch(cols)
        except Exception as exc:
            lines = f"{cols['line_no'][0]}..{cols['line_no'][-1]}"
            raise LandingParseError(f"landing file {file.rel}: lines {lines} do not convert: {one_line(exc)}") from None
        yield batch


def bad_file_rows(files: list[LandingFile]) -> list[tuple[Any, ...]]:
    """One PARSED_SCHEMA row (line 0, reason ``bad_file_name``) per file the engine cannot take by its name.

    ``raw`` is the name's own bytes, ``source_file`` the escaped name. Files of the same content share a row.
    """
    rows: dict[str, tuple[Any, ...]] = {}
    for f in files:
        if f.problem and f.sha256 not in rows:
            detail = f"{f.problem}; rename it to take its lines"
            values: dict[str, object] = {"status": "bad_file_name", "detail": detail, "raw": f.name_bytes}
            values |= {"source_file": f.rel, "file_sha256": f.sha256, "line_no": 0}
            rows[f.sha256] = tuple(values.get(name) for name in PARSED_ARROW.names)
    return list(rows.values())


def parse_files(
    spark: SparkSession, files: list[LandingFile], *, fmt: str, limits: Limits, mapping: FieldMapping
) -> DataFrame:
    """Read files as bytes with ``binaryFile`` and parse every line in ``mapInArrow`` tasks.

    Sail's JSON reader fails a whole file on one bad line and cannot keep raw bytes, so lines are
    decoded by Python's own JSON decoder here; every bad line becomes a row with its reason, and every file
    the engine cannot take by its name one row (line 0).
    """
    # Files of the same content are parsed once (their lines would be the same quarantine keys).
    readable, seen = [], set()
    for f in files:
        if f.problem is None and (f.sha256, f.part) not in seen:
            seen.add((f.sha256, f.part))
            readable.append(f)
    by_path = {file_key(f): f for f in readable}
    frames = []
    if readable:

        def parse_batches(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            for batch in batches:
                paths, contents = batch.column("path").to_pylist(), batch.column("content").to_pylist()
                for uri, content in zip(paths, contents, strict=True):
                    key = engine_key(uri)
                    file = by_path.get(key) or by_path.get(unquote(key))
                    if file is None:
                        raise LandingParseError(f"the engine read a file this batch did not list: {escape_name(uri)}")
                    yield from file_batches(content, file, fmt=fmt, limits=limits, mapping=mapping)

        locations = [engine_location(f.uri, jvm=is_jvm_session(spark)) for f in readable]
        raw = spark.read.format("binaryFile").load(locations).select("path", "content")
        # Seen with Sail 0.7.2: binaryFile returned one of 112 files twice. Keeping one row per file makes the parse
        # exact on any engine; per file, not per parsed line (a dropDuplicates on lines held ~7 KB per line).
        frames.append(raw.dropDuplicates(["path"]).mapInArrow(parse_batches, PARSED_SCHEMA))
    if rows := bad_file_rows(files):
        frames.append(spark.createDataFrame(rows, schema=PARSED_SCHEMA))
    return functools.reduce(lambda a, b: a.unionByName(b), frames)

"""The columnar fast path of the landing parser: a chunk of JSON lines to Arrow event columns, checked vectorized.

It takes the very decoder of :mod:`socialflywheel.ingest.fastparse` over every line of a chunk, turns the decoded
records into Arrow columns without a Python row per line, and does ``fast_event``'s checks (the event type's
required fields, the timestamp's instant and range, the text's bytes, the extras) with Arrow compute on whole
columns. Like ``fast_event`` it only ever *accepts*, and more narrowly: a ``ts`` other than the plain UTC spelling
``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z``, a line starting with a byte order mark, more than one extra field, any
doubt at all, and the line is left to the per-line path, which gives today's row for it. An accepted line's values
are those ``fast_event`` gives for it, which the per-line differential test holds to ``parse_line``'s.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
from collections.abc import Callable, Iterator, Sequence
from operator import attrgetter
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.ingest.fastparse import _EXTRA_NAMES, _NEEDS, _decoder
from socialflywheel.ingest.parse import CONTRACT_FIELDS, Limits, _extra_value

UTF8_BOM = b"\xef\xbb\xbf"
# The one ts spelling taken here (what the simulator and most producers write): ASCII digits at fixed places.
_PLAIN_UTC = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
# (bytes, pattern, fraction digits): whole seconds, milliseconds (what the simulator writes), microseconds.
_SPELLINGS = tuple(
    (20 + (f + 1 if f else 0), _PLAIN_UTC + (rf"\.[0-9]{{{f}}}" if f else "") + "Z$", f) for f in (0, 3, 6)
)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US_PER_DAY = 86_400_000_000
TS_TYPE = pa.timestamp("us", tz="UTC")
_FIELDS = [*CONTRACT_FIELDS, *_EXTRA_NAMES]


def micros_of(when: dt.datetime) -> int:
    """An aware datetime as microseconds since the epoch (exact: integer arithmetic on timedeltas)."""
    return (when - _EPOCH) // dt.timedelta(microseconds=1)


def _needs_missing(columns: dict[str, pa.Array]) -> np.ndarray:
    """Rows whose event type needs a field given as null or "" (the per-line path names it missing)."""
    event_type = columns["event_type"]
    missing = np.zeros(len(event_type), dtype=bool)
    for name_type, needs in _NEEDS.items():
        of_type = pc.equal(event_type, name_type).to_numpy(zero_copy_only=False)
        if not of_type.any():
            continue
        for i in needs:
            column = columns[CONTRACT_FIELDS[i]]
            empty = pc.fill_null(pc.equal(column, ""), True).to_numpy(zero_copy_only=False)
            missing |= of_type & empty
    return missing


def _timestamps(ts: list[Any], limits: Limits) -> tuple[pa.Array, np.ndarray]:
    """(ts as microseconds since the epoch, rows whose ts is not a plain UTC spelling of an instant inside the limits).

    A plain spelling (``...:SSZ``, ``...:SS.fffZ`` or ``...:SS.ffffffZ``) has its digits at fixed places, so they are
    read as numbers on the text's bytes at once, and the date checked as ``datetime.fromisoformat`` checks it
    (month, day of that month, hour, minute, second < 60); the fraction is milli- or microseconds, as it reads them.
    """
    micros, good = utc_micros(pa.array([t if type(t) is str else None for t in ts], pa.string()))
    good &= (micros >= micros_of(limits.min_ts)) & (micros <= micros_of(limits.max_ts))
    return pa.array(micros, pa.int64()), ~good


def utc_micros(text: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds since the epoch, which texts are a plain UTC spelling of an instant) of a string column."""
    n = len(text)
    micros = np.zeros(n, dtype=np.int64)
    good = np.zeros(n, dtype=bool)
    length = pc.binary_length(text)
    for size, pattern, fraction in _SPELLINGS:
        plain = pc.and_(pc.equal(length, size), pc.match_substring_regex(text, pattern))
        rows = np.flatnonzero(pc.fill_null(plain, False).to_numpy(zero_copy_only=False))
        if len(rows):
            micros[rows], good[rows] = _plain_micros(pc.take(text, pa.array(rows, pa.int64())), size, fraction)
    return micros, good


def _plain_micros(spelled: pa.Array, size: int, fraction: int) -> tuple[np.ndarray, np.ndarray]:
    """(microseconds since the epoch, valid) of texts all ``size`` bytes: ``YYYY-MM-DDTHH:MM:SS[.fraction digits]Z``."""
    _, offsets, chars = spelled.buffers()
    start = int(np.frombuffer(offsets, dtype=np.int32)[spelled.offset]) if len(spelled) else 0
    data = np.frombuffer(chars or b"", dtype=np.uint8)[start : start + size * len(spelled)]
    digits = data.reshape(len(spelled), size).astype(np.int64) - ord("0")

    def number(first: int, last: int) -> np.ndarray:
        value = np.zeros(len(spelled), dtype=np.int64)
        for place in range(first, last):
            value = value * 10 + digits[:, place]
        return value

    year, month, day = number(0, 4), number(5, 7), number(8, 10)
    hour, minute, second = number(11, 13), number(14, 16), number(17, 19)
    part = number(20, 20 + fraction) * (10 ** (6 - fraction)) if fraction else 0
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    month_days = _MONTH_DAYS[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    valid = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= month_days)
    valid &= (hour <= 23) & (minute <= 59) & (second <= 59)
    # Days from the civil date (H. Hinnant's algorithm): the proleptic Gregorian calendar datetime uses.
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * np.where(month > 2, month - 3, month + 9) + 2) // 5 + day - 1
    days = era * 146_097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719_468
    micros = ((days * 24 + hour) * 60 + minute) * 60_000_000 + second * 1_000_000 + part
    return micros, valid


def _extras(values: dict[str, list[Any]], n: int, extras_type: pa.DataType) -> tuple[pa.Array, np.ndarray]:
    """(each row's extras as the per-line path builds them, rows with two or more, which it leaves to the exact parser).

    A row keeps its one extra field (if any) as a one-entry map; a row with more is only a placeholder here.
    """
    names, columns = [], []
    for name in _EXTRA_NAMES:
        if any(v is not None for v in values[name]):
            names.append(name)
            try:
                columns.append(pa.array(values[name], pa.string()))
            except (pa.ArrowException, TypeError, ValueError):  # not a string: the per-line path's JSON spelling
                columns.append(pa.array([None if v is None else _extra_value(v) for v in values[name]], pa.string()))
    if not names:
        return pa.array([[]] * n, extras_type), np.zeros(n, dtype=bool)
    given = np.stack([pc.is_valid(c).to_numpy(zero_copy_only=False) for c in columns])
    count = given.sum(axis=0)
    has = count > 0
    keys = np.array(names, dtype=object)[given.argmax(axis=0)[has]]
    items = pc.coalesce(*columns).filter(pa.array(has))
    offsets = pa.array(np.concatenate([[0], np.cumsum(has)]), pa.int32())
    extras = pa.MapArray.from_arrays(offsets, pa.array(keys, pa.string()), items, type=extras_type)
    return extras, count > 1


def accept_chunk(lines: Sequence[bytes], limits: Limits, schema: pa.Schema) -> tuple[np.ndarray, pa.RecordBatch]:
    """The lines of a chunk the columnar path takes for sure, and their event columns.

    Args:
        lines: a chunk's raw lines (without their line endings), in order.
        limits: the validator's limits.
        schema: the event columns to build (contract fields, ``extras``, ``event_date``), with their types.

    Returns:
        The positions in ``lines`` taken, ascending, and a batch of ``schema`` with one row per position.

    Raises:
        Exception: anything Arrow or the decoder raises on the chunk as a whole; the caller parses it per line.
    """
    where, taken, events = _decode_chunk(lines, limits, schema)
    return where[taken], events.filter(pa.array(taken))


def _decode_chunk(
    lines: Sequence[bytes], limits: Limits, schema: pa.Schema
) -> tuple[np.ndarray, np.ndarray, pa.RecordBatch]:
    """(positions of the lines decoded, which of them are taken, the decoded lines' event columns)."""
    if limits.min_ts.tzinfo is None or limits.max_ts.tzinfo is None:  # only aware limits compare as fast_event does
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool), empty_batch(schema)
    decode = _decoder().decode
    max_line = limits.max_line_bytes
    records: list[Any] = []
    where: list[int] = []
    for i, line in enumerate(lines):
        if len(line) > max_line or line.startswith(UTF8_BOM):
            continue
        try:
            records.append(decode(line))
        except (msgspec.DecodeError, ValueError, RecursionError):
            continue
        where.append(i)
    n = len(records)
    values = {name: list(map(attrgetter(name), records)) for name in _FIELDS}
    arrays = {name: pa.array(values[name], schema.field(name).type) for name in CONTRACT_FIELDS if name != "ts"}
    micros, doubt = _timestamps(values["ts"], limits)
    doubt |= _needs_missing(arrays)
    text_bytes = pc.fill_null(pc.binary_length(arrays["text"]), 0).to_numpy(zero_copy_only=False)
    doubt |= text_bytes > limits.max_text_bytes
    arrays["extras"], extra_doubt = _extras(values, n, schema.field("extras").type)
    doubt |= extra_doubt
    arrays["ts"] = micros.cast(TS_TYPE)
    day = np.floor_divide(micros.to_numpy(), _US_PER_DAY).astype(np.int32)
    arrays["event_date"] = pa.array(day, pa.int32()).cast(pa.date32())
    batch = pa.RecordBatch.from_arrays([arrays[name] for name in schema.names], schema=schema)
    return np.asarray(where, dtype=np.int64), ~doubt, batch


def empty_batch(schema: pa.Schema) -> pa.RecordBatch:
    """A batch of ``schema`` with no rows."""
    return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)


def with_line_columns(
    events: pa.RecordBatch,
    taken: np.ndarray,
    numbers: list[int],
    raws: list[bytes],
    rel: str,
    sha: str,
    schema: pa.Schema,
    detail: pa.Array | None = None,
) -> pa.RecordBatch:
    """The rows of ``schema`` of the lines at positions ``taken``: events, raw bytes, file and number.

    ``taken`` ascends; a line may give several rows (a mapped record's events). ``detail`` is each row's (null
    without it).
    """
    n = len(taken)
    raw, number = pa.array(raws, pa.binary()), pa.array(numbers, pa.int64())
    if n != len(raws) or not np.array_equal(taken, np.arange(n)):  # else every line is a row, in order
        rows = pa.array(taken, pa.int64())
        raw, number = raw.take(rows), number.take(rows)
    detail = pa.nulls(n, pa.string()) if detail is None else detail
    line = [pa.nulls(n, pa.string()), detail, raw, pa.array([rel] * n), pa.array([sha] * n), number]
    return pa.RecordBatch.from_arrays([*events.columns, *line], schema=schema)


def in_line_order(
    batch: pa.RecordBatch, lines: np.ndarray, rest: pa.RecordBatch, rest_lines: np.ndarray
) -> pa.RecordBatch:
    """Two batches' rows merged in the order of their lines (``lines``, ``rest_lines``: each row's line position).

    A line's rows all come from one of the two, in their order there.
    """
    order = np.argsort(np.concatenate([lines, np.asarray(rest_lines, dtype=np.int64)]), kind="stable")
    return pa.concat_batches([batch, rest]).take(pa.array(order, pa.int64()))


def chunk_batch(
    numbers: list[int],
    raws: list[bytes],
    rel: str,
    sha: str,
    limits: Limits,
    schema: pa.Schema,
    event_schema: pa.Schema,
    *,
    per_line: Callable[[list[int]], pa.RecordBatch],
) -> pa.RecordBatch:
    """A chunk of lines as a batch of ``schema``: the lines taken here, the others' rows from ``per_line``, in order.

    Args:
        numbers: the lines' numbers in their file.
        raws: the lines' bytes.
        rel: the file's name.
        sha: the file's SHA-256.
        limits: the validator's limits.
        schema: the parse step's schema: ``event_schema``, then status, detail, raw, source_file, file_sha256, line_no.
        event_schema: the event columns of ``schema``.
        per_line: the batch the per-line path gives for the lines at these positions.

    Raises:
        Exception: anything the chunk as a whole raises; the caller parses it per line.
    """
    decoded, taken, events = _decode_chunk(raws, limits, event_schema)
    good = with_line_columns(events, decoded, numbers, raws, rel, sha, schema)
    if len(decoded) == len(raws) and taken.all():
        return good
    # One take puts the taken rows (of the decoded ones) and the per-line rows of the others in line order.
    at = decoded[taken]
    others = np.setdiff1d(np.arange(len(raws)), at, assume_unique=True)
    return in_line_order(good.filter(pa.array(taken)), at, per_line(others.tolist()), others)


def json_lines(
    content: bytes, first: int = 1, last: int | None = None, block: int = 16 << 20
) -> Iterator[tuple[int, bytes]]:
    """The numbered non-blank lines ``first`` to ``last`` of a file, as ``parse.iter_lines`` gives them.

    A block of about ``block`` bytes (ending at a line end) is split at once in native code, not read line by line.
    """
    number = pos = 0
    while pos < len(content):
        end = content.find(b"\n", pos + block)
        end = len(content) if end < 0 else end + 1
        pieces = content[pos:end].split(b"\n")
        if not pieces[-1]:  # the block ends with its last line's "\n"
            pieces.pop()
        pos = end
        if number + len(pieces) < first:
            number += len(pieces)
            continue
        for piece in pieces:
            number += 1
            if number < first:
                continue
            if last is not None and number > last:
                return
            line = piece[:-1] if piece.endswith(b"\r") else piece
            if line.strip():
                yield number, line


def split_lines(content: bytes) -> list[tuple[int, bytes]]:
    """Numbered (1-based) non-blank lines of a file; a trailing CR is part of the line ending."""
    return list(iter_lines(content))


def iter_lines(content: bytes, first: int = 1, last: int | None = None) -> Iterator[tuple[int, bytes]]:
    """The numbered non-blank lines of a file from line ``first`` to ``last`` (inclusive; None: to the end).

    Lazily: a file of millions of short lines is never held as a list of them.
    """
    for number, raw in enumerate(itertools.islice(io.BytesIO(content), first - 1, last), start=first):
        line = raw[:-1] if raw.endswith(b"\n") else raw
        line = line[:-1] if line.endswith(b"\r") else line
        if line.strip():
            yield number, line

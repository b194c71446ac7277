"""The events a chunk of mapped lines becomes, columnar: rules in order, fields, the contract's checks, the rows.

:mod:`socialflywheel.ingest.mapping_columnar` reads the records and their paths; here the rules are taken as
:meth:`Mapper.events <socialflywheel.ingest.mapping.Mapper.events>` takes them, each emitted event is built as
columns and checked as :func:`socialflywheel.ingest.parse.validate` checks it, and a line is accepted only when
every event it makes passes for sure. The rest is left to the per-line path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.config.sources import KEEP, FieldSpec
from socialflywheel.ingest.columnar import (
    TS_TYPE,
    empty_batch,
    in_line_order,
    micros_of,
    utc_micros,
    with_line_columns,
)
from socialflywheel.ingest.mapped_fields import Fields
from socialflywheel.ingest.mapping import Mapper
from socialflywheel.ingest.mapping_columnar import Records, decodable, holds, read_records
from socialflywheel.ingest.parse import (
    _SCHEMA,
    CONTRACT_FIELDS,
    REQUIRED,
    REQUIRED_BY_TYPE,
    Limits,
    Rejected,
    _extra_value,
    parse_ts,
)

SEEN_PREFIX = "paths seen:"
"""A mapped event's ``detail`` (null for contract lines): the mapping's paths its record held, as hex bits."""
_NULL_TYPES = {"dwell_ms": pa.int64(), "hashtags": pa.list_(pa.string())}
_EXTRAS_TYPE = pa.map_(pa.string(), pa.string())
_EPOCH_LIMIT = 253_402_300_800_000_000  # microseconds from 1970 to year 10000: no datetime lies beyond
# What the contract says of each field beyond its type (the columns are built in their types): read from the schema,
# so a rule added there is checked here too, or fails loudly here.
_PROPS = _SCHEMA["properties"]
_CHECKED = {"type", "description", "enum", "items", "minLength", "maxLength", "minimum", "exclusiveMaximum"}
if _unknown := {k for name in CONTRACT_FIELDS for k in _PROPS[name]} - _CHECKED:
    raise ValueError(f"contract keywords {sorted(_unknown)} have no columnar check for mapped events")


def map_chunk(
    lines: Sequence[bytes], mapper: Mapper, limits: Limits, schema: pa.Schema
) -> tuple[np.ndarray, np.ndarray, pa.RecordBatch]:
    """The lines of a chunk taken here, and their rows.

    Args:
        lines: the chunk's raw lines, in order.
        mapper: the source mapping.
        limits: the validator's limits.
        schema: the event columns of a parsed row, then ``detail`` (:data:`SEEN_PREFIX` and the paths seen).

    Returns:
        (which lines are taken, the line of each row (ascending), the rows: an event's columns and its detail).
    """
    taken = np.zeros(len(lines), dtype=bool)
    ok = np.flatnonzero(decodable(lines, limits))
    row_lines, batches = [], []
    for where, records in read_records([lines[i] for i in ok.tolist()]):
        good, rows, batch = _map_piece(Records(records), mapper, limits, schema)
        taken[ok[where[good]]] = True
        row_lines.append(ok[where[rows]])
        batches.append(batch)
    if not batches:
        return taken, np.zeros(0, dtype=np.int64), empty_batch(schema)
    return taken, np.concatenate(row_lines), pa.concat_batches(batches)


def _map_piece(
    recs: Records, mapper: Mapper, limits: Limits, schema: pa.Schema
) -> tuple[np.ndarray, np.ndarray, pa.RecordBatch]:
    """(rows of the piece taken, the piece row of each event row, the event rows) for one piece of records."""
    source, n = mapper.source, recs.n
    fields = Fields(recs)
    active, produced, refused = np.ones(n, dtype=bool), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    groups: list[tuple[np.ndarray, dict[str, pa.Array]]] = []
    for rule in source.rules:
        takes = active.copy()
        for cond in rule.when:
            takes &= holds(recs, cond)
        if rule.skip:  # refuses a record it takes unless an earlier rule made events of it; either way, stops
            refused |= takes & ~produced
            active &= ~takes
            continue
        rows = np.flatnonzero(takes)
        for i, event in enumerate(rule.emit):
            specs = {**source.defaults, **event}
            columns, bad = _event_columns(fields, specs, mapper, limits, rows, with_extras=i == 0)
            refused[rows[bad]] = True
            groups.append((rows, columns))
        produced |= takes
    good = produced & ~refused & ~recs.doubt
    seen = _seen(recs, mapper)
    at_rows, batches = [], []
    for order, (rows, columns) in enumerate(groups):
        keep = good[rows]
        index = pa.array(np.flatnonzero(keep), pa.int64())
        arrays = [columns[name].take(index) for name in schema.names[:-1]]
        batches.append(pa.RecordBatch.from_arrays([*arrays, seen.take(pa.array(rows[keep]))], schema=schema))
        at_rows.append(np.stack([rows[keep], np.full(int(keep.sum()), order)], axis=1))
    if not batches:
        return np.flatnonzero(good), np.zeros(0, dtype=np.int64), empty_batch(schema)
    keys = np.concatenate(at_rows)
    ordered = np.lexsort((keys[:, 1], keys[:, 0]))
    batch = pa.concat_batches(batches).take(pa.array(ordered, pa.int64()))
    return np.flatnonzero(good), keys[ordered, 0], batch


def _event_columns(
    fields: Fields, specs: dict[str, FieldSpec], mapper: Mapper, limits: Limits, rows: np.ndarray, *, with_extras: bool
) -> tuple[dict[str, pa.Array], np.ndarray]:
    """(an emitted event's columns at ``rows``, which of them the per-line path might not take as built here)."""
    n = len(rows)
    bad = np.zeros(n, dtype=bool)
    columns: dict[str, pa.Array] = {}
    for name in CONTRACT_FIELDS:
        if name == "ts":
            continue
        if name in specs:
            column, doubt = fields.column(name, specs[name], rows)
            bad |= doubt
        else:
            column = pa.nulls(n, _NULL_TYPES.get(name, pa.string()))
        columns[name] = column
    source = mapper.source
    etype = columns["event_type"]
    mapped = {k: v for k, v in source.event_types.items() if v != KEEP}
    if mapped:
        keys = pa.array(list(mapped), pa.string())
        at = pc.index_in(etype, value_set=keys)
        etype = pc.if_else(pc.is_valid(at), pc.take(pa.array(list(mapped.values()), pa.string()), at), etype)
        columns["event_type"] = etype
    kept = pc.is_in(etype, value_set=pa.array(source.kept_types(), pa.string()))
    checked_type = pc.if_else(kept, "search", etype)
    bad |= _breaks_contract(columns, checked_type, limits)
    ts, ts_bad = _timestamps(fields, specs.get("ts"), limits, rows)
    bad |= ts_bad
    columns["ts"] = ts
    columns["event_date"] = ts.cast(pa.date32())
    extras, extras_bad = _extras(fields, specs, mapper, rows, with_extras)
    bad |= extras_bad
    columns["extras"] = extras
    return columns, bad


def _breaks_contract(columns: dict[str, pa.Array], event_type: pa.Array, limits: Limits) -> np.ndarray:
    """Rows whose event (``ts`` and extras aside) the contract might refuse: any of its rules not surely kept."""

    def rows(mask: pa.Array, null: bool = False) -> np.ndarray:
        out: np.ndarray = pc.fill_null(mask, null).to_numpy(zero_copy_only=False)
        return out

    bad = rows(pc.invert(pc.is_in(event_type, value_set=pa.array(_PROPS["event_type"]["enum"], pa.string()))), True)
    for name in CONTRACT_FIELDS:
        if name in ("ts", "event_type"):
            continue
        column, spec = columns[name], _PROPS[name]
        if name in REQUIRED:
            bad |= rows(pc.is_null(column))
        size = pc.utf8_length(column) if "minLength" in spec or "maxLength" in spec else None
        if "minLength" in spec:
            bad |= rows(pc.less(size, spec["minLength"]))
        if "maxLength" in spec:
            bad |= rows(pc.greater(size, spec["maxLength"]))
        if "minimum" in spec:
            bad |= rows(pc.less(column, spec["minimum"]))
        if "exclusiveMaximum" in spec:
            bad |= rows(pc.greater_equal(column, spec["exclusiveMaximum"]))
    bad |= rows(pc.greater(pc.binary_length(columns["text"]), limits.max_text_bytes))
    for type_name, needs in REQUIRED_BY_TYPE.items():
        of = rows(pc.equal(event_type, type_name))
        if of.any():
            for name in needs:  # null or "": missing, as the per-type rule has it
                bad |= of & rows(pc.equal(columns[name], ""), True)
    return bad


_EPOCH_SCALE = {"epoch_s": 1_000_000, "epoch_ms": 1_000, "epoch_us": 1}


def _timestamps(
    fields: Fields, spec: FieldSpec | None, limits: Limits, rows: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """(the events' ts at ``rows``, which of them are missing, not an instant, or outside the limits).

    A ts read from one path, in ISO 8601 or epoch numbers, is read as a column; what that leaves undecided (another
    spelling, a value map, a default) is read by the mapping's own functions, value by value.
    """
    n = len(rows)
    micros, known = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    if spec is None:
        return pa.nulls(n, TS_TYPE), np.ones(n, dtype=bool)
    plain = isinstance(spec.path, str) and spec.default is None and spec.map is None and spec.transform is None
    if plain and spec.format in ("iso8601", *_EPOCH_SCALE):
        column = fields.recs.first(str(spec.path)).take(pa.array(rows, pa.int64()))
        if spec.format == "iso8601" and pa.types.is_string(column.type):
            micros, known = utc_micros(column)
        elif spec.format in _EPOCH_SCALE and pa.types.is_integer(column.type):
            scale = _EPOCH_SCALE[spec.format]
            value = pc.fill_null(column, 0).to_numpy(zero_copy_only=False).astype(np.int64)
            known = pc.is_valid(column).to_numpy(zero_copy_only=False) & (np.abs(value) <= _EPOCH_LIMIT // scale)
            micros = np.where(known, value, 0) * scale
    rest = np.flatnonzero(~known)  # the mapping's own reading, value by value
    values, doubt = fields.python("ts", spec, rows[rest])
    for i, value, unsure in zip(rest.tolist(), values, doubt.tolist(), strict=True):
        if unsure or type(value) not in (str, dt.datetime) or value == "":
            continue
        try:
            micros[i], known[i] = micros_of(parse_ts(value)), True
        except Rejected:
            continue
    known &= (micros >= micros_of(limits.min_ts)) & (micros <= micros_of(limits.max_ts))
    ts = pa.array(micros, pa.int64(), mask=~known).cast(TS_TYPE)
    return ts, ~known


def _extras(
    fields: Fields, specs: dict[str, FieldSpec], mapper: Mapper, rows: np.ndarray, with_extras: bool
) -> tuple[pa.Array, np.ndarray]:
    """(each event's extras as ``validate`` builds them, rows in doubt): fields the contract lists as extras first.

    Each extra is a text column (null where the event has none); a row's entries are its non-null ones, in order.
    """
    n = len(rows)
    bad = np.zeros(n, dtype=bool)
    named = [(name, spec, False) for name, spec in specs.items() if name not in CONTRACT_FIELDS]
    if with_extras:
        named += [(name, spec, True) for name, spec in mapper.source.extras.items()]
    if not named:
        return pa.array([[]] * n, _EXTRAS_TYPE), bad
    columns = []
    for name, spec, keep_list in named:
        column = _plain_extra(fields, spec, rows, keep_list)
        if column is None:
            values, doubt = fields.python(name, spec, rows, keep_list=keep_list)
            bad |= doubt
            text: list[str | None] = [None] * n
            for i, value in enumerate(values):
                if value is None or (keep_list and value == []) or doubt[i]:
                    continue
                if not keep_list and type(value) is not str:  # a contract extra (category) is text or null
                    bad[i] = True
                    continue
                text[i] = _extra_value(value)
            column = pa.array(text, pa.string())
        columns.append(column)
    given = np.stack([pc.is_valid(c).to_numpy(zero_copy_only=False) for c in columns], axis=1)  # rows x extras
    at = np.flatnonzero(given.ravel())  # row-major: each row's entries in the extras' order
    keys = pa.array([name for name, _, _ in named], pa.string()).take(pa.array(at % len(named), pa.int64()))
    items = pa.concat_arrays(columns).take(pa.array((at % len(named)) * n + at // len(named), pa.int64()))
    offsets = pa.array(np.concatenate([[0], np.cumsum(given.sum(axis=1))]), pa.int32())
    return pa.MapArray.from_arrays(offsets, keys, items, type=_EXTRAS_TYPE), bad


def _plain_extra(fields: Fields, spec: FieldSpec, rows: np.ndarray, keep_list: bool) -> pa.Array | None:
    """An extra read from one path of text (a source's own extra: of integers or booleans too) as a text column.

    None where it is not that plain (the mapping's own functions make it, value by value).
    """
    if not isinstance(spec.path, str) or any(
        v is not None for v in (spec.default, spec.map, spec.transform, spec.format)
    ):
        return None
    _, values, fanned = fields.recs.walk(spec.path)
    t = values.type
    scalar = keep_list and (pa.types.is_integer(t) or pa.types.is_boolean(t))
    if fanned or not (pa.types.is_string(t) or pa.types.is_null(t) or scalar):
        return None  # lists and the rest: their JSON spelling, value by value
    return fields.recs.first(spec.path).take(pa.array(rows, pa.int64())).cast(pa.string())


def mapped_lines_batch(
    numbers: list[int],
    raws: list[bytes],
    where: tuple[str, str],
    limits: Limits,
    mapper: Mapper,
    schema: pa.Schema,
    per_line: Callable[[list[int]], tuple[pa.RecordBatch, list[int]]],
) -> pa.RecordBatch:
    """A chunk of mapped lines as a batch of the parse step's ``schema``, in line order.

    Args:
        numbers: the lines' numbers in their file.
        raws: the lines' bytes.
        where: the file's name and SHA-256.
        limits: the validator's limits.
        mapper: the source mapping.
        schema: the parse step's schema: event columns, then status, detail, raw, source_file, file_sha256, line_no.
        per_line: the per-line path's batch for the lines at these positions, and the position of each of its rows.
    """
    events = pa.schema([*list(schema)[: len(schema) - 6], schema.field("detail")])
    taken, row_lines, good = map_chunk(raws, mapper, limits, events)
    event_columns = pa.RecordBatch.from_arrays(good.columns[:-1], schema=pa.schema(list(events)[:-1]))
    batch = with_line_columns(event_columns, row_lines, numbers, raws, *where, schema, detail=good.column("detail"))
    others = np.flatnonzero(~taken)
    if not len(others):
        return batch
    rest, rest_lines = per_line(others.tolist())
    return in_line_order(batch, row_lines, rest, np.asarray(rest_lines, dtype=np.int64))


def _seen(recs: Records, mapper: Mapper) -> pa.Array:
    """Per row, the mapping's paths its record holds as hex bits after :data:`SEEN_PREFIX` (a good row's detail)."""
    if not mapper.paths:
        return pa.array([f"{SEEN_PREFIX}0"] * recs.n, pa.string())
    present = np.stack([recs.present(p) for p in mapper.paths], axis=1)  # rows x paths
    if present.shape[1] <= 62:  # each row's bits as one integer: rows alike share one text, spelled once
        codes = present.astype(np.int64) @ (np.int64(1) << np.arange(present.shape[1], dtype=np.int64))
    else:
        codes = np.array([sum(1 << i for i in np.flatnonzero(row).tolist()) for row in present], dtype=object)
    distinct, index = np.unique(codes, return_inverse=True)
    texts = [f"{SEEN_PREFIX}{int(code):x}" for code in distinct.tolist()]
    return pa.array(texts, pa.string()).take(pa.array(index.reshape(-1).astype(np.int64)))

"""A source mapping run columnar: a chunk of a source's JSON lines -> contract events, with Arrow compute.

Arrow's JSON reader decodes the chunk in native code; each path of the mapping is walked on the decoded columns
(keys, fan-outs and filters as list and struct kernels); conditions become row masks, rules are taken in order as
:class:`~socialflywheel.ingest.mapping.Mapper` takes them, and each emitted event's fields are built as columns and
checked against the contract as whole columns. What is not a plain column operation (a value map, a transform, a
timestamp format, extras) runs the mapping's own per-value functions on the column's values.

Like the contract's columnar path it only ever *accepts*: a line it is not sure of (not one JSON object by msgspec's
reading, not UTF-8, a value Arrow reads unlike Python's decoder would, a rule that would reject it, an event the
contract might refuse) is left to the per-line path, which gives today's row and reason for it. An accepted line's
rows are those the per-line path gives; the differential test holds the two to that.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from socialflywheel.config.sources import compile_path
from socialflywheel.ingest.mapping import Mapper, _matches
from socialflywheel.ingest.parse import Limits, Rejected

_PLAIN = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_boolean, pa.types.is_null)


class _Object(msgspec.Struct):
    """Any JSON object (its fields skipped): msgspec's check that a line is exactly one well-formed object."""


_OBJECT = msgspec.json.Decoder(_Object)
_MAX_BRACKETS = 400


def supported(mapper: Mapper) -> bool:
    """Whether this module can run the mapping (list indexes and non-scalar condition values go per line)."""
    source = mapper.source
    if any(kind == "index" for path in source.paths() for kind, _, _ in compile_path(path)):
        return False
    wants = [
        w
        for rule in source.rules
        for cond in rule.when
        for want in [*(cond.equals or {}).values(), *(cond.not_equals or {}).values()]
        for w in (want if isinstance(want, list) else [want])
    ]
    return all(isinstance(w, str | int | float | bool) for w in wants)


def decodable(lines: Sequence[bytes], limits: Limits) -> np.ndarray:
    """Lines Arrow may read here: one JSON object each (msgspec's strict reading), UTF-8, within the line limit."""
    ok = np.zeros(len(lines), dtype=bool)
    for i, line in enumerate(lines):
        if len(line) > limits.max_line_bytes or line[:1] != b"{":
            continue
        # Nesting near Python's recursion limit is refused by the per-line decoder at a depth that depends on its
        # own stack: a line that could nest that deep is left to it (brackets in strings count too: only safer).
        if line.count(b"[") + line.count(b"{") > _MAX_BRACKETS:
            continue
        try:
            _OBJECT.decode(line)
            if not line.isascii():
                line.decode("utf-8")
        except (msgspec.DecodeError, UnicodeDecodeError, ValueError, RecursionError):
            continue
        ok[i] = True
    return ok


def read_records(lines: Sequence[bytes]) -> list[tuple[np.ndarray, pa.StructArray]]:
    """The lines as Arrow records, in pieces Arrow reads alike: (positions in ``lines``, their records).

    A piece Arrow refuses (a type that changes from line to line, a key given twice) is halved until the lines at
    fault stand alone; those are left out (the per-line path takes them).
    """
    out: list[tuple[np.ndarray, pa.StructArray]] = []
    todo = [np.arange(len(lines))]
    while todo:
        where = todo.pop()
        if not len(where):
            continue
        data = b"\n".join(lines[i] for i in where.tolist()) + b"\n"
        opts = pj.ReadOptions(use_threads=False, block_size=max(len(data) + 1, 1 << 16))
        try:
            table = pj.read_json(io.BytesIO(data), read_options=opts)
            if table.num_rows != len(where):
                raise ValueError("row count")
        except (pa.ArrowException, ValueError):
            if len(where) > 1:
                todo += [where[len(where) // 2 :], where[: len(where) // 2]]
            continue
        out.append((where, _struct(table)))
    return sorted(out, key=lambda piece: int(piece[0][0]))


def _struct(table: pa.Table) -> pa.StructArray:
    """A table's rows as one struct array (a table of ``{}`` lines has no column: an unnamable one stands in)."""
    if not table.num_columns:
        return pa.StructArray.from_arrays([pa.nulls(table.num_rows)], names=["[no field]"])
    table = table.combine_chunks()
    return pa.StructArray.from_arrays([c.chunk(0) for c in table.columns], names=table.column_names)


class _Opaque:
    """A value Arrow holds unlike Python, as read here: spelling it as text refuses the record (leaves it in doubt)."""

    def __repr__(self) -> str:
        return "<a value Arrow holds unlike Python>"

    def __str__(self) -> str:  # a template or a comparison would spell it: the per-line path decides that row
        raise Rejected("unmapped", "a value Arrow holds unlike Python")


OPAQUE = _Opaque()
_NO_VALUES: list[Any] = []  # a fanned path's value where a record has none (read, never changed)


def opaque(value: object) -> bool:
    """Whether a value is, or holds, :data:`OPAQUE`."""
    return value is OPAQUE or (type(value) is list and any(v is OPAQUE for v in value))


class Records:
    """One piece of decoded records and what the mapping reads of it, each path walked once."""

    def __init__(self, records: pa.StructArray) -> None:
        self.records = records
        self.n = len(records)
        self.doubt = np.zeros(self.n, dtype=bool)
        self._walked: dict[str, tuple[np.ndarray, pa.Array, bool]] = {}
        self._py: dict[str, list[Any]] = {}

    def walk(self, path: str) -> tuple[np.ndarray, pa.Array, bool]:
        """(row of each value, the values, fanned out) of ``path``, as :func:`mapping.read_path` reads it."""
        if path in self._walked:
            return self._walked[path]
        rows, cur, fanned = np.arange(self.n), self.records, False
        for kind, a, b in compile_path(path):
            t = cur.type
            if kind == "key":
                if not pa.types.is_struct(t) or t.get_field_index(a) < 0:
                    cur = pa.nulls(len(cur))
                else:
                    cur = cur.flatten()[t.get_field_index(a)]
            elif not pa.types.is_list(t):
                cur, fanned = pa.nulls(len(cur)), True
            else:
                rows = rows[pc.list_parent_indices(cur).to_numpy()]
                cur, fanned = pc.list_flatten(cur), True
                if kind == "where":
                    keep = self._matching(cur, rows, a, b)
                    cur, rows = cur.filter(pa.array(keep)), rows[keep]
            keep = pc.is_valid(cur).to_numpy(zero_copy_only=False)
            cur, rows = cur.filter(pa.array(keep)), rows[keep]
        self._walked[path] = (rows, cur, fanned)
        return rows, cur, fanned

    def _matching(self, items: pa.Array, rows: np.ndarray, key: str, text: str) -> np.ndarray:
        """The list items ``[?key=text]`` takes: objects whose ``key`` is ``text`` (a scalar's text, any case)."""
        t = items.type
        if not pa.types.is_struct(t):
            return np.zeros(len(items), dtype=bool)
        is_object = pc.is_valid(items).to_numpy(zero_copy_only=False)
        if t.get_field_index(key) < 0:  # no item has the key: None, whose text is "none"
            return np.asarray(is_object & (text.lower() == "none"), dtype=bool)
        value = items.flatten()[t.get_field_index(key)]
        null = pc.is_null(value).to_numpy(zero_copy_only=False) & (text.lower() == "none")
        if pa.types.is_string(value.type):
            same = pc.equal(value, text)
        elif pa.types.is_integer(value.type) or pa.types.is_boolean(value.type):
            same = pc.equal(pc.cast(value, pa.string()), text.lower())
        else:  # a float, an object or a list: left to the per-line path where it decides anything
            self.doubt[rows[is_object & ~null]] = True
            return np.zeros(len(items), dtype=bool)
        matched: np.ndarray = is_object & (null | pc.fill_null(same, False).to_numpy(zero_copy_only=False))
        return matched

    def present(self, path: str) -> np.ndarray:
        """Rows where ``path`` holds a value (not None, not an empty list)."""
        rows, values, fanned = self.walk(path)
        if not fanned and pa.types.is_list(values.type):
            rows = rows[pc.greater(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False)]
        out = np.zeros(self.n, dtype=bool)
        out[rows] = True
        return out

    def py(self, path: str) -> list[Any]:
        """Per row, the Python value :func:`mapping.read_path` gives (a list once fanned out).

        A value Arrow holds unlike Python's decoder (a float, which may have been a large integer; an object, which
        Arrow gives every key any record had) is :data:`OPAQUE`: whatever uses it leaves its row in doubt.
        """
        if path not in self._py:
            rows, values, fanned = self.walk(path)
            t = values.type
            inner = t.value_type if pa.types.is_list(t) else t
            items = values.to_pylist() if any(kind(inner) for kind in _PLAIN) else [OPAQUE] * len(values)
            out: list[Any]
            if fanned:  # rows ascend: each row's values are one run; a row with none shares one empty list
                out = [_NO_VALUES] * self.n
                ends = [*(np.flatnonzero(np.diff(rows)) + 1).tolist(), len(rows)]
                for start, end in zip([0, *ends[:-1]], ends, strict=True):
                    if end > start:
                        out[int(rows[start])] = items[start:end]
            else:
                out = [None] * self.n
                for row, value in zip(rows.tolist(), items, strict=True):
                    out[row] = value
            self._py[path] = out
        return self._py[path]

    def first(self, path: str) -> pa.Array:
        """Per row, the path's one value where one is wanted (a fanned path's first), null where none."""
        rows, values, fanned = self.walk(path)
        if pa.types.is_list(values.type) and not fanned:  # a list read whole: its first item
            take = pc.greater(pc.list_value_length(values), 0).to_numpy(zero_copy_only=False)
            rows, values = rows[take], pc.list_element(values.filter(pa.array(take)), 0)
        if fanned:
            rows, at = np.unique(rows, return_index=True)
            values = values.take(pa.array(at, pa.int64()))
        index = np.full(self.n, -1, dtype=np.int64)
        index[rows] = np.arange(len(rows))
        return values.take(pa.array(index, mask=index < 0))


def holds(recs: Records, cond: Any) -> np.ndarray:  # noqa: ANN401 (a Condition)
    """Rows where a rule's condition holds."""
    out = np.ones(recs.n, dtype=bool)
    if cond.present is not None:
        out &= recs.present(cond.present)
    if cond.absent is not None:
        out &= ~recs.present(cond.absent)
    for path, want in (cond.equals or {}).items():
        out &= _equals(recs, path, want)
    for path, want in (cond.not_equals or {}).items():
        out &= ~_equals(recs, path, want)
    return out


def _equals(recs: Records, path: str, want: Any) -> np.ndarray:  # noqa: ANN401 (a YAML value)
    """Rows where ``path`` holds ``want`` (or one of them) as :func:`mapping._matches` has it."""
    rows, values, _ = recs.walk(path)
    if not (pa.types.is_string(values.type) or pa.types.is_null(values.type)):
        py = recs.py(path)
        unsure = np.array([opaque(v) for v in py], dtype=bool)
        recs.doubt |= unsure
        return np.array([not u and _matches(v, want) for v, u in zip(py, unsure.tolist(), strict=True)], dtype=bool)
    texts = pa.array([str(w) for w in (want if isinstance(want, list) else [want])], pa.string())
    out = np.zeros(recs.n, dtype=bool)
    out[rows[pc.is_in(values, value_set=texts).to_numpy(zero_copy_only=False)]] = True
    return out

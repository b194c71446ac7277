"""Event fields of mapped records as columns: what :mod:`socialflywheel.ingest.mapped_batch` builds events from.

A field Arrow can make whole (a plain path, a template of text slots, a list of text) is one column over a piece's
rows; any other runs the mapping's own per-value functions (:func:`socialflywheel.ingest.mapping.finisher`) on the
rows that need it, once per row whichever events share it. A value the per-line mapper would refuse, or one Arrow
holds unlike Python (:data:`~socialflywheel.ingest.mapping_columnar.OPAQUE`), leaves its row in doubt.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.config.sources import TEMPLATE_SLOT, FieldSpec
from socialflywheel.ingest.mapping import _ID_FIELDS, _field_fn, finisher
from socialflywheel.ingest.mapping_columnar import Records, opaque
from socialflywheel.ingest.parse import Rejected


def _typed(name: str, column: pa.Array, doubt: np.ndarray) -> pa.Array:
    """A plain field's column in its event type: ints as their digits for ids; other kinds leave their rows in doubt."""
    t = column.type
    want = pa.int64() if name == "dwell_ms" else pa.string()
    if pa.types.is_null(t) or t == want or (name in _ID_FIELDS and pa.types.is_integer(t)):
        return column.cast(want)
    doubt |= pc.is_valid(column).to_numpy(zero_copy_only=False)
    return pa.nulls(len(column), want)


def _from_python(name: str, values: list[Any], doubt: np.ndarray) -> pa.Array:
    """A field's Python values as its event column; a value of another kind leaves its row in doubt (and null)."""
    kind: type = int if name == "dwell_ms" else list if name == "hashtags" else str
    for i, value in enumerate(values):
        if value is not None and (
            type(value) is not kind or (type(value) is list and any(type(v) is not str for v in value))
        ):
            doubt[i] = True
            values[i] = None
    return pa.array(values, pa.int64() if kind is int else pa.list_(pa.string()) if kind is list else pa.string())


class Fields:
    """Event fields as columns over a piece's rows; a value is made once per row, whichever events share it."""

    def __init__(self, recs: Records) -> None:
        self.recs = recs
        self._arrow: dict[tuple[str, str], tuple[pa.Array, np.ndarray]] = {}
        self._py: dict[tuple[str, str, bool], tuple[list[Any], np.ndarray, np.ndarray]] = {}

    def column(self, name: str, spec: FieldSpec, rows: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        """(the event field's column at ``rows``, which of them are in doubt)."""
        full = self.arrow(name, spec)
        if full is not None:
            return full[0].take(pa.array(rows, pa.int64())), full[1][rows]
        if spec.const is not None:  # one value for every row
            values, doubt = self.python(name, spec, np.zeros(1, dtype=np.int64))
            doubt = np.repeat(doubt, len(rows))
            column = _from_python(name, values, doubt[:1].copy())
            return column.take(pa.array(np.zeros(len(rows), dtype=np.int64))), doubt
        values, doubt = self.python(name, spec, rows)
        doubt = doubt.copy()
        return _from_python(name, values, doubt), doubt

    def arrow(self, name: str, spec: FieldSpec) -> tuple[pa.Array, np.ndarray] | None:
        """(the field's column over all rows, rows in doubt) where Arrow makes it whole; None where it does not."""
        key = (name, spec.model_dump_json())
        if key not in self._arrow:
            if name == "hashtags" and (tags := self._text_list(spec)) is not None:
                self._arrow[key] = tags, np.zeros(self.recs.n, dtype=bool)
                return self._arrow[key]
            if finisher(name, spec) is not None:
                return None
            doubt = np.zeros(self.recs.n, dtype=bool)
            if isinstance(spec.path, str):
                self._arrow[key] = _typed(name, self.recs.first(spec.path), doubt), doubt
            elif spec.template is not None and (filled := self._template(spec.template, doubt)) is not None:
                self._arrow[key] = _typed(name, filled, doubt), doubt
            else:
                return None
        return self._arrow[key]

    def _text_list(self, spec: FieldSpec) -> pa.Array | None:
        """A list field read from one path of text (fanned out, or a list of text read whole), as a list column.

        As the per-line mapper has it: no value (or an empty list) is null. None where it is not that plain.
        """
        if not isinstance(spec.path, str) or any(
            v is not None for v in (spec.default, spec.map, spec.transform, spec.format)
        ):
            return None
        rows, values, fanned = self.recs.walk(spec.path)
        if not fanned:
            if not pa.types.is_list(values.type) or not pa.types.is_string(values.type.value_type):
                return None
            if pc.list_flatten(values).null_count:  # a null item: the contract refuses the list
                return None
            rows, values = rows[pc.list_parent_indices(values).to_numpy()], pc.list_flatten(values)
        elif not pa.types.is_string(values.type):
            return None
        counts = np.bincount(rows, minlength=self.recs.n)
        offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
        lists = pa.ListArray.from_arrays(offsets, values.cast(pa.string()), mask=pa.array(counts == 0))
        return lists

    def _template(self, template: str, doubt: np.ndarray) -> pa.Array | None:
        """A template filled with Arrow where its slots hold text or integers and it needs no trimming."""
        pieces = TEMPLATE_SLOT.split(template)
        if not all(piece.isascii() for piece in pieces[::2]):
            return None
        slots = [self.recs.first(p) for p in pieces[1::2]]
        if not all(pa.types.is_string(c.type) or pa.types.is_integer(c.type) for c in slots):
            return None
        parts: list[Any] = [pieces[0]]
        for slot, text in zip(slots, pieces[2::2], strict=True):
            parts += [slot.cast(pa.string()), text]
        filled = pc.binary_join_element_wise(*parts, "")
        # Text the per-line mapper would trim (or find empty) is left to it.
        trimmed = pc.invert(pc.match_substring_regex(filled, r"(?s)^[!-~](.*[!-~])?$"))
        doubt |= pc.fill_null(trimmed, False).to_numpy(zero_copy_only=False)
        return filled

    def python(
        self, name: str, spec: FieldSpec, rows: np.ndarray, *, keep_list: bool = False
    ) -> tuple[list[Any], np.ndarray]:
        """(at ``rows``, the field's value as the per-line mapper makes it; rows where it would refuse the record)."""
        key = (name, spec.model_dump_json(), keep_list)
        n = self.recs.n
        if key not in self._py:
            self._py[key] = ([None] * n, np.zeros(n, dtype=bool), np.zeros(n, dtype=bool))
        out, doubt, done = self._py[key]
        todo = rows[~done[rows]].tolist()
        if todo:
            make = _field_fn(name, spec, keep_list=keep_list)  # the per-line mapper's own field function
            columns = {path: self.recs.py(path) for path in spec.paths()}
            for i in todo:
                try:
                    out[i] = make(lambda path: columns[path][i], "")  # noqa: B023 (called at once, in this row)
                except Rejected:
                    doubt[i] = True
                    continue
                if opaque(out[i]):
                    doubt[i] = True
            done[todo] = True
        return [out[i] for i in rows.tolist()], doubt[rows]

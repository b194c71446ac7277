"""The fast path of the landing parser: a typed msgspec decoder built from the contract.

A valid landing line is decoded and checked in native code (msgspec: UTF-8, JSON syntax, field types, lengths,
ranges, the event type's enum) straight into a typed struct, then finished by the same Python checks the exact
parser runs (the timestamp's instant and the configured limits). It only ever *accepts*: a line it does not take
for sure (a decode error, a lone surrogate escape, a field the contract does not list, a broken limit) returns None
and goes to :func:`socialflywheel.ingest.parse.parse_line`, which names the exact reason. So the quarantine stays
byte-identical whichever path a line takes, and an accepted line gives the very event ``parse_line`` gives (the
differential property test holds both to that).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Union

import msgspec
from msgspec import Meta

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

_TEXT_KEYS = {"minLength": "min_length", "maxLength": "max_length"}
_NUMBER_KEYS = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "exclusiveMaximum": "lt"}
_IGNORED = {"description", "title"}
# What the record level of the contract may say: ``type: object`` and ``additionalProperties`` are what the decoder
# is (an object whose other fields go to the exact parser); required, properties and allOf are mapped below.
_TOP_LEVEL_KEYWORDS = {"$schema", "$id", "type", "required", "additionalProperties", "properties", "allOf", *_IGNORED}


def _field_type(name: str, spec: Mapping[str, Any]) -> object:
    """The msgspec type of one contract property (the JSON Schema keywords the contract uses, no others).

    Raises:
        ValueError: the property uses a keyword this mapping does not know (the fast path must not guess).
    """
    unknown = set(spec) - {"type", "enum", "items", *_TEXT_KEYS, *_NUMBER_KEYS, *_IGNORED}
    if unknown:
        raise ValueError(f"contract property {name}: keywords {sorted(unknown)} have no fast-path mapping")
    kinds = spec["type"] if isinstance(spec["type"], list) else [spec["type"]]
    text = {_TEXT_KEYS[k]: v for k, v in spec.items() if k in _TEXT_KEYS}
    number = {_NUMBER_KEYS[k]: v for k, v in spec.items() if k in _NUMBER_KEYS}
    members: list[Any] = []
    for kind in kinds:
        if kind == "string":
            members.append(Literal[tuple(spec["enum"])] if "enum" in spec else Annotated[str, Meta(**text)])
        elif kind == "integer":
            members.append(Annotated[int, Meta(**number)])
        elif kind == "number":  # JSON Schema's number holds integers too; an integer stays an int as json.loads gives
            members += [Annotated[int, Meta(**number)], Annotated[float, Meta(**number)]]
        elif kind == "array" and spec.get("items") == {"type": "string"}:
            members.append(list[str])
        elif kind == "null":
            members.append(None)
        else:
            raise ValueError(f"contract property {name}: type {kind!r} has no fast-path mapping")
    if "enum" in spec and kinds != ["string"]:
        raise ValueError(f"contract property {name}: an enum over {kinds} has no fast-path mapping")
    return Union[tuple(members)] if len(members) > 1 else members[0]  # noqa: UP007 (a runtime-built union)


def _per_type_rule(schema: Mapping[str, Any]) -> None:
    """Check that every per-type rule of the contract is "required, a non-empty string" (all the fast path checks).

    Raises:
        ValueError: a conditional says more than that.
    """
    for cond in schema.get("allOf", ()):
        then = cond.get("then", {})
        for name, sub in then.get("properties", {}).items():
            if sub != {"type": "string", "minLength": 1} or name not in then.get("required", ()):
                raise ValueError(f"contract conditional on {name} has no fast-path mapping: {sub}")


@functools.cache
def _decoder() -> msgspec.json.Decoder[Any]:
    """The typed decoder of a contract record.

    Fields the contract does not list are refused: they go to extras, which the exact parser builds in the line's
    own key order.
    """
    if unknown := set(_SCHEMA) - _TOP_LEVEL_KEYWORDS:
        raise ValueError(f"contract keywords {sorted(unknown)} have no fast-path mapping")
    _per_type_rule(_SCHEMA)
    props = _SCHEMA["properties"]
    # In CONTRACT_FIELDS order, then the other contract properties: astuple gives the event's values in place.
    names = [*CONTRACT_FIELDS, *(name for name in props if name not in CONTRACT_FIELDS)]
    fields: list[Any] = [
        (name, _field_type(name, props[name])) if name in REQUIRED else (name, _field_type(name, props[name]), None)
        for name in names
    ]
    struct = msgspec.defstruct("LandingRecord", fields, forbid_unknown_fields=True, kw_only=True)
    return msgspec.json.Decoder(struct)


_EXTRA_NAMES = tuple(name for name in _SCHEMA["properties"] if name not in CONTRACT_FIELDS)
_N = len(CONTRACT_FIELDS)
_NEEDS = {event_type: tuple(CONTRACT_FIELDS.index(n) for n in names) for event_type, names in REQUIRED_BY_TYPE.items()}
_NO_NEEDS: tuple[int, ...] = ()
_TS = CONTRACT_FIELDS.index("ts")
_TEXT = CONTRACT_FIELDS.index("text")
_NO_EXTRAS = (None,) * len(_EXTRA_NAMES)
_UTC = dt.UTC


def fast_event(line: bytes, limits: Limits) -> list[Any] | None:
    """The event of a line the fast path accepts; None when the exact parser must decide.

    A list in ``CONTRACT_FIELDS`` order (``ts`` an aware UTC datetime) followed by ``extras`` and ``event_date``.

    Raises only when the contract itself has no fast-path mapping (a keyword added to the schema); any doubt about
    a line is None.
    """
    # msgspec refuses a lone surrogate escape ("\\ud800") as malformed, so the exact parser names it.
    if len(line) > limits.max_line_bytes:
        return None
    decoder = _decoder()  # outside the guard: a contract the fast path cannot express fails loudly, once
    try:
        values = msgspec.structs.astuple(decoder.decode(line))
    except (msgspec.DecodeError, ValueError, RecursionError):
        return None
    for i in _NEEDS.get(values[1], _NO_NEEDS):
        if not values[i]:  # null or "" where the event type needs it
            return None
    ts = values[_TS]
    try:  # the common spelling ("...Z") without parse_ts's general path; the same instant either way
        when = dt.datetime.fromisoformat(ts) if type(ts) is str else None
        if when is None or when.tzinfo is not _UTC:
            when = parse_ts(ts)
    except (Rejected, ValueError):
        return None
    if not (limits.min_ts <= when <= limits.max_ts):
        return None
    text = values[_TEXT]
    if text is not None and len(text) * 4 > limits.max_text_bytes:
        if len(text.encode("utf-8")) > limits.max_text_bytes:
            return None
    extra = values[_N:]
    if extra == _NO_EXTRAS:
        extras = []
    else:
        extras = [(k, _extra_value(v)) for k, v in zip(_EXTRA_NAMES, extra, strict=True) if v is not None]
        if len(extras) > 1:  # the exact parser keeps the line's key order
            return None
    out = list(values[:_N])
    out[_TS] = when
    out += (extras, when.date())
    return out

"""Parse and validate one landing line into a contract event, or say which rule it broke.

Pure Python (no Spark): it runs inside ``mapInArrow`` tasks on any engine, and property-based
tests drive it directly. The field rules are ``contract/events.schema.json`` itself, compiled to
Python by fastjsonschema once per process; only what JSON Schema cannot say is written here.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema
from fastjsonschema import JsonSchemaValueException

REASONS = (
    "malformed_json",
    "missing_field",
    "wrong_type",
    "bad_timestamp",
    "unknown_event_type",
    "duplicate",
    "oversized_text",
    "oversized_line",
    "invalid_utf8",
    # JSON the lake cannot store: a lone surrogate escape ("\\ud800") in a string, nesting too deep to keep, or
    # a row the Arrow conversion refused.
    "unrepresentable",
    # Reasons for a whole landing file, one quarantine row (line 0) each: a name the engine cannot read or skips,
    # a file that cannot be decoded in its format (a damaged Parquet file).
    "bad_file_name",
    "unreadable_file",
    # A source record its mapping (ingest.source) has no rule for, or one a rule skips: the detail names the rule.
    "unmapped",
    # Anything else that failed on one line: the detail names the exception (a parser bug worth reporting).
    "parse_error",
)

# The bronze columns an event fills (a storage layout, not a rule); every other field goes to ``extras``.
CONTRACT_FIELDS = (
    "event_id",
    "event_type",
    "user_id",
    "post_id",
    "target_user_id",
    "ts",
    "dwell_ms",
    "text",
    "hashtags",
    "country",
    "device",
    "campaign_id",
)
_CONTRACT_FIELD_SET = frozenset(CONTRACT_FIELDS)
_NO_FIELDS = dict.fromkeys(CONTRACT_FIELDS)

Check = Callable[[Any], Any]


def load_contract() -> dict[str, Any]:
    """The landing contract (a JSON Schema) shipped in this package."""
    # Beside this module (package data), read by path: naming the package would import it, and its __init__ imports
    # the ingest job, which imports this module.
    text = (Path(__file__).parent / "contract" / "events.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _branches(schema: Mapping[str, Any], event_types: tuple[str, ...]) -> dict[str, list[Mapping[str, Any]]]:
    """Per event type, the ``then``/``else`` parts of the contract's ``allOf`` conditionals that apply to it.

    Raises:
        ValueError: a conditional looks at more than ``event_type`` (it cannot be resolved per type).
    """
    conds = [part for part in schema.get("allOf", ()) if "if" in part]
    for cond in conds:
        cond_if = cond["if"]
        if not (set(cond_if) <= {"required", "properties"} and set(cond_if.get("properties", ())) == {"event_type"}):
            raise ValueError(f"contract conditional {cond_if} looks at more than event_type")
    ifs = [fastjsonschema.compile(cond["if"]) for cond in conds]
    out: dict[str, list[Mapping[str, Any]]] = {}
    for event_type in event_types:
        out[event_type] = []
        for cond, check_if in zip(conds, ifs, strict=True):
            branch = "then" if _passes(check_if, {"event_type": event_type}) else "else"
            out[event_type].extend([cond[branch]] if branch in cond else [])
    return out


def _passes(check: Check, value: object) -> bool:
    try:
        check(value)
    except JsonSchemaValueException:
        return False
    return True


_SCHEMA = load_contract()
EVENT_TYPES: tuple[str, ...] = tuple(_SCHEMA["properties"]["event_type"]["enum"])
_BRANCHES = _branches(_SCHEMA, EVENT_TYPES)
REQUIRED: tuple[str, ...] = tuple(_SCHEMA["required"])
REQUIRED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    event_type: needed
    for event_type, parts in _BRANCHES.items()
    if (needed := tuple(name for part in parts for name in part.get("required", ())))
}


@dataclass(frozen=True)
class _Contract:
    """The compiled contract: one validator per event type, and one for everything else."""

    by_type: Mapping[str, Check]
    any_record: Check


@functools.cache
def _contract() -> _Contract:
    """Compile the contract once per process (a fraction of a second, paid once by each task process).

    fastjsonschema evaluates an ``if`` by raising and catching an exception: twice per valid line for the
    contract's three conditionals. Resolving them ahead for each event type, and folding each ``then`` into
    the common rules, leaves one pass over the record with only the rules that apply to its type.
    """
    base = {k: v for k, v in _SCHEMA.items() if k not in ("$id", "allOf")}
    always = [part for part in _SCHEMA.get("allOf", ()) if "if" not in part]
    by_type: dict[str, Check] = {}
    for event_type, parts in _BRANCHES.items():
        spec = _fold(base, [*always, *parts])
        # The dispatch picked this validator by the record's exact event_type: the enum check reduces to this.
        spec["properties"]["event_type"] = {"const": event_type}
        by_type[event_type] = _compile(spec)
    # A record without a contract event_type breaks the common rules whatever the conditionals (theirs hold
    # for contract types only) would add, so the common rules alone accept and reject exactly as the whole.
    return _Contract(by_type=by_type, any_record=_compile(_fold(base, always)))


def _fold(base: Mapping[str, Any], parts: list[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"allOf": [base, *parts]}`` as one schema: ``required`` lists joined, a field's two subschemas in an allOf."""
    spec = dict(base)
    required = list(base.get("required", ()))
    props = dict(base.get("properties", {}))
    rest = []
    for part in parts:
        if not set(part) <= {"required", "properties"}:
            rest.append(part)
            continue
        required += [name for name in part.get("required", ()) if name not in required]
        for name, sub in part.get("properties", {}).items():
            props[name] = {"allOf": [props[name], sub]} if name in props else sub
    spec.update(required=required, properties=props)
    if rest:
        spec["allOf"] = rest
    return spec


def _compile(spec: Mapping[str, Any]) -> Check:
    """Compile a record schema, its ``required`` checked first and on its own.

    fastjsonschema builds the failing (sub)schema as the exception's ``definition`` when it raises: for a
    missing field that would be the whole record schema, here it is just the ``required`` list.
    """
    rest = {k: v for k, v in spec.items() if k not in ("$schema", "required")}
    return fastjsonschema.compile({"$schema": spec["$schema"], "allOf": [{"required": spec["required"]}, rest]})


@dataclass(frozen=True)
class Limits:
    """Plausibility limits of the validator (from ``ingest`` config)."""

    max_text_bytes: int = 4096
    max_line_bytes: int = 65536
    min_ts: dt.datetime = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    max_ts: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=24))


class Rejected(Exception):
    """A line broke a rule; ``reason`` is one of REASONS and ``detail`` names the field first."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _required_for(name: str, event_type: object) -> str | None:
    """How the contract requires ``name``: "" always, " (required for T)" by event type; None if optional."""
    if name in REQUIRED:
        return ""
    if type(event_type) is str and name in REQUIRED_BY_TYPE.get(event_type, ()):
        return f" (required for {event_type})"
    return None


_RANGE_RULES = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})


def _rejection(exc: JsonSchemaValueException, record: Mapping[str, Any]) -> Rejected:
    """The project's reason and one-line detail (field first) for the contract rule a record broke."""
    # fastjsonschema names the value "data", "data.ts" or "data.hashtags[1]"; contract fields hold no "." or "[".
    name, _, index = (exc.name or "").partition(".")[2].partition("[")
    rule, event_type = exc.rule, record.get("event_type")
    if not name:  # a rule on the record as a whole (it is an object): its required fields
        missing = next((n for n in exc.rule_definition or () if n not in record), None) if rule == "required" else None
        if missing is None:
            return Rejected("wrong_type", exc.message[:120])
        return Rejected("missing_field", missing + (_required_for(missing, event_type) or ""))
    value = record.get(name)
    how = _required_for(name, event_type)
    # JSON Schema reports a required field sent as null or "" as a type or length error; the contract calls it missing.
    if how is not None and (value is None or value == ""):
        return Rejected("missing_field", name + how)
    if rule == "enum" and name == "event_type":
        return Rejected("unknown_event_type", f"event_type: {_short(value)} is not a contract event type")
    limit = exc.rule_definition
    if rule == "type":
        what = f"{type(exc.value).__name__}, expected {' or '.join(limit) if isinstance(limit, list) else limit}"
    elif rule == "maxLength":
        what = f"longer than {limit} characters"
    elif rule in _RANGE_RULES:
        what = f"{_short(exc.value)} out of range ({rule} {limit})"
    else:
        what = exc.message.split(" ", 1)[-1][:120]
    return Rejected("wrong_type", f"{name}: [{index} is {what}" if index else f"{name}: {what}")


def parse_ts(value: str | float | dt.datetime) -> dt.datetime:
    """A contract ``ts`` (ISO-8601 with ``Z`` or an offset, or epoch milliseconds) -> aware UTC datetime.

    The contract has checked the type; turning the value into an instant is beyond what JSON Schema says.
    """
    if isinstance(value, str):
        try:  # the common spelling first: Python 3.11 reads "...Z" itself
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            text = value.strip()
            if text.endswith(("Z", "z")):
                text = text[:-1] + "+00:00"
            try:
                parsed = dt.datetime.fromisoformat(text)
            except ValueError:
                raise Rejected("bad_timestamp", f"ts: unparseable {value[:40]!r}") from None
        return _utc(parsed, value)
    if isinstance(value, dt.datetime):  # typed sources (Parquet) give datetimes
        return _utc(value, value)
    if not math.isfinite(value):  # Python's JSON decoder reads NaN and Infinity as numbers
        raise Rejected("bad_timestamp", f"ts: {value!r}")
    try:
        return dt.datetime.fromtimestamp(value / 1000.0, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise Rejected("bad_timestamp", f"ts: {value!r} out of range") from None


def _utc(when: dt.datetime, value: object) -> dt.datetime:
    """``when`` in UTC (a naive one taken as UTC).

    Raises:
        Rejected: the offset moves it outside years 1..9999 (``0001-01-01T00:30+01:00``), which no datetime holds.
    """
    if when.tzinfo is None:
        return when.replace(tzinfo=dt.UTC)
    if when.tzinfo is dt.UTC:
        return when
    try:
        return when.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise Rejected("bad_timestamp", f"ts: {_short(value)} out of range in UTC") from None


def _extra_value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def validate(record: object, limits: Limits, mapping: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Validate a decoded JSON value and return the contract event (``extras`` holds other fields).

    Raises:
        Rejected: with the first rule the record breaks.
    """
    if not isinstance(record, dict):
        raise Rejected("malformed_json", f"top level is {type(record).__name__}, not an object")
    if mapping:  # renaming a source's fields is configuration, not a schema rule
        record = {mapping.get(k, k): v for k, v in record.items()}
    event_type = record.get("event_type")
    contract = _contract()
    check = contract.by_type.get(event_type) if type(event_type) is str else None
    ts = record.get("ts")
    # JSON has no datetime type; a typed source's (Parquet's) datetime is checked as its ISO spelling.
    checked = {**record, "ts": ts.isoformat()} if isinstance(ts, dt.datetime) else record
    try:
        (check or contract.any_record)(checked)
    except JsonSchemaValueException as exc:
        raise _rejection(exc, record) from None
    # Beyond JSON Schema: the instant a ts names, and limits that come from the ingest config.
    when = parse_ts(record["ts"])  # present: the contract requires it
    if not (limits.min_ts <= when <= limits.max_ts):
        raise Rejected(
            "bad_timestamp", f"ts: {record['ts']!r} outside {limits.min_ts:%Y-%m-%d}..{limits.max_ts:%Y-%m-%d}"
        )
    text = record.get("text")
    # A UTF-8 byte count (the limit is configured); a code point takes at most 4 bytes, so short texts skip it.
    if text is not None and len(text) * 4 > limits.max_text_bytes:
        if len(text.encode("utf-8", "surrogatepass")) > limits.max_text_bytes:
            raise Rejected("oversized_text", f"text: over {limits.max_text_bytes} bytes")
    if _CONTRACT_FIELD_SET.issuperset(record):
        event = {**_NO_FIELDS, **record, "extras": []}
    else:
        event = {name: record.get(name) for name in CONTRACT_FIELDS}
        try:
            event["extras"] = [(k, _extra_value(v)) for k, v in record.items() if k not in event and v is not None]
        except RecursionError:  # JSON nested just within the decoder's depth, but not the encoder's here
            raise Rejected("unrepresentable", "extras: nested too deep to store") from None
    dwell = event["dwell_ms"]
    if dwell is not None and not isinstance(dwell, int):  # JSON Schema's integer includes 5.0; the column is bigint
        event["dwell_ms"] = int(dwell)
    event["ts"] = when
    event["event_date"] = when.date()
    return event


def parse_line(line: bytes, limits: Limits, mapping: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Decode one raw line (bytes, without its newline) and validate it.

    Raises:
        Rejected: with the rule the line breaks.
    """
    event = validate(decode_line(line, limits), limits, mapping)
    # The line decoded as UTF-8, so only a backslash-u escape can spell a lone surrogate, which UTF-8 (and so
    # Arrow and Parquet) cannot hold: lines without one skip the check.
    if b"\\u" in line:
        check_storable(event)
    return event


def decode_line(line: bytes, limits: Limits) -> object:
    """One raw line (bytes, without its newline) as the JSON value it holds.

    Raises:
        Rejected: the line is too long, not UTF-8 or not JSON.
    """
    if len(line) > limits.max_line_bytes:
        raise Rejected("oversized_line", f"{len(line)} bytes > {limits.max_line_bytes}")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("invalid_utf8", f"byte {exc.start}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # ValueError: also an integer over Python's 4300-digit limit
        raise Rejected("malformed_json", str(exc)[:120]) from None


def utf8_storable(text: str) -> bool:
    """Whether a string can be stored as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_storable(event: Mapping[str, Any]) -> None:
    """Reject an event with a string the lake cannot store.

    Raises:
        Rejected: ``unrepresentable``, naming the field (for an extra, its name) that holds a lone surrogate.
    """
    for name in CONTRACT_FIELDS:
        value = event[name]
        for text in value if isinstance(value, list) else (value,):
            if isinstance(text, str) and not utf8_storable(text):
                raise Rejected("unrepresentable", f"{name}: a lone surrogate escape, which UTF-8 cannot hold")
    for key, text in event["extras"]:
        if not (utf8_storable(key) and utf8_storable(text)):
            raise Rejected("unrepresentable", f"extras: {_short(key)} holds a lone surrogate escape")

"""Parse and validate one landing line into a contract event, or say which rule it broke.

Pure Python (no Spark): it runs inside ``mapInArrow`` tasks on any engine, and property-based
tests drive it directly. The rules mirror ``contract/events.schema.json``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from socialflywheel.lake.catalog import EVENT_TYPES

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
)

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
STRING_FIELDS = (
    "event_id",
    "event_type",
    "user_id",
    "post_id",
    "target_user_id",
    "text",
    "country",
    "device",
    "campaign_id",
)
REQUIRED = ("event_id", "event_type", "user_id", "ts")
REQUIRED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "post": ("post_id",),
    "view": ("post_id",),
    "like": ("post_id",),
    "share": ("post_id",),
    "comment": ("post_id",),
    "click": ("post_id",),
    "follow": ("target_user_id",),
    "unfollow": ("target_user_id",),
    "ad_impression": ("campaign_id",),
    "ad_click": ("campaign_id",),
}
_EVENT_TYPE_SET = frozenset(EVENT_TYPES)
_MAX_ID_CHARS = 256


@dataclass(frozen=True)
class Limits:
    """Plausibility limits of the validator (from ``ingest`` config)."""

    max_text_bytes: int = 4096
    max_line_bytes: int = 65536
    min_ts: dt.datetime = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    max_ts: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=24))


class Rejected(Exception):
    """A line broke a rule; ``reason`` is one of REASONS and ``detail`` names the field."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def parse_ts(value: Any) -> dt.datetime:
    """An ISO-8601 string (``Z`` or offset) or epoch milliseconds -> aware UTC datetime."""
    if isinstance(value, bool):
        raise Rejected("wrong_type", "ts: boolean")
    if isinstance(value, dt.datetime):  # typed sources (Parquet) give datetimes
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise Rejected("bad_timestamp", f"ts: {value!r}")
        try:
            return dt.datetime.fromtimestamp(value / 1000.0, dt.UTC)
        except (OverflowError, OSError, ValueError):
            raise Rejected("bad_timestamp", f"ts: {value!r} out of range") from None
    if not isinstance(value, str):
        raise Rejected("wrong_type", f"ts: {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise Rejected("bad_timestamp", f"ts: unparseable {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _extra_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)


def validate(record: Any, limits: Limits, mapping: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Validate a decoded JSON value and return the contract event (``extras`` holds other fields).

    Raises:
        Rejected: with the first rule the record breaks.
    """
    if not isinstance(record, dict):
        raise Rejected("malformed_json", f"top level is {type(record).__name__}, not an object")
    if mapping:
        record = {mapping.get(k, k): v for k, v in record.items()}
    for name in REQUIRED:
        if record.get(name) is None or record.get(name) == "":
            raise Rejected("missing_field", name)
    for name in STRING_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise Rejected("wrong_type", f"{name}: {type(value).__name__}, expected string")
    for name in ("event_id", "user_id", "post_id", "target_user_id", "campaign_id"):
        value = record.get(name)
        if value is not None and len(value) > _MAX_ID_CHARS:
            raise Rejected("wrong_type", f"{name}: longer than {_MAX_ID_CHARS} characters")
    event_type = record["event_type"]
    if event_type not in _EVENT_TYPE_SET:
        raise Rejected("unknown_event_type", event_type[:40])
    for name in REQUIRED_BY_TYPE.get(event_type, ()):
        if record.get(name) is None or record.get(name) == "":
            raise Rejected("missing_field", f"{name} (required for {event_type})")
    dwell = record.get("dwell_ms")
    if dwell is not None and (isinstance(dwell, bool) or not isinstance(dwell, int)):
        if isinstance(dwell, float) and dwell.is_integer():
            dwell = int(dwell)
        else:
            raise Rejected("wrong_type", f"dwell_ms: {type(dwell).__name__}, expected integer")
    if dwell is not None and not (0 <= dwell < 2**62):
        raise Rejected("wrong_type", "dwell_ms: out of range")
    tags = record.get("hashtags")
    if tags is not None and (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)):
        raise Rejected("wrong_type", "hashtags: expected a list of strings")
    ts = parse_ts(record["ts"])
    if not (limits.min_ts <= ts <= limits.max_ts):
        raise Rejected(
            "bad_timestamp", f"ts: {record['ts']!r} outside {limits.min_ts:%Y-%m-%d}..{limits.max_ts:%Y-%m-%d}"
        )
    text = record.get("text")
    if text is not None and len(text.encode("utf-8", "surrogatepass")) > limits.max_text_bytes:
        raise Rejected("oversized_text", f"text: over {limits.max_text_bytes} bytes")
    event = {name: record.get(name) for name in CONTRACT_FIELDS}
    event["ts"] = ts
    event["dwell_ms"] = dwell
    event["event_date"] = ts.date()
    event["extras"] = [(k, _extra_value(v)) for k, v in record.items() if k not in CONTRACT_FIELDS and v is not None]
    return event


def parse_line(line: bytes, limits: Limits, mapping: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Decode one raw line (bytes, without its newline) and validate it.

    Raises:
        Rejected: with the rule the line breaks.
    """
    if len(line) > limits.max_line_bytes:
        raise Rejected("oversized_line", f"{len(line)} bytes > {limits.max_line_bytes}")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("invalid_utf8", f"byte {exc.start}") from None
    try:
        record = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise Rejected("malformed_json", str(exc)[:120]) from None
    return validate(record, limits, mapping)


def split_lines(content: bytes) -> list[tuple[int, bytes]]:
    """Numbered (1-based) non-blank lines of a file; a trailing CR is part of the line ending."""
    out = []
    for number, raw in enumerate(content.split(b"\n"), start=1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line.strip():
            out.append((number, line))
    return out

"""Hypothesis strategies for landing events, built from the contract (the JSON Schema) read by an independent
validator, not from the parser under test: shared by the parser's property tests and the contract tests."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import strategies as st

SCHEMA: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "lib/socialflywheel/ingest/contract/events.schema.json").read_text()
)
SCHEMA_TYPES: list[str] = SCHEMA["properties"]["event_type"]["enum"]


def required_for(event_type: str) -> list[str]:
    """The contract's required fields for one event type, read off the schema with the oracle."""
    needed = list(SCHEMA["required"])
    for cond in SCHEMA.get("allOf", ()):
        if jsonschema.Draft202012Validator(cond["if"]).is_valid({"event_type": event_type}):
            needed += cond["then"].get("required", [])
    return needed


ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=24)
in_range = st.datetimes(
    min_value=dt.datetime(2015, 1, 2), max_value=dt.datetime(2029, 12, 30), timezones=st.just(dt.UTC)
)
timestamps = st.one_of(
    in_range.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"),
    in_range.map(lambda d: d.isoformat()),
    in_range.map(lambda d: int(d.timestamp() * 1000)),
)
maybe_text = st.one_of(st.none(), st.text(max_size=60))


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    event_type = draw(st.sampled_from(SCHEMA_TYPES))
    event: dict[str, Any] = {
        "event_id": draw(ids),
        "event_type": event_type,
        "user_id": draw(ids),
        "ts": draw(timestamps),
    }
    for name in required_for(event_type):
        event.setdefault(name, draw(ids))
    optional = {
        "post_id": st.one_of(st.none(), ids),
        "target_user_id": st.one_of(st.none(), ids),
        "campaign_id": st.one_of(st.none(), ids),
        "dwell_ms": st.one_of(st.none(), st.integers(0, 2**62 - 1)),
        "text": maybe_text,
        "hashtags": st.one_of(st.none(), st.lists(st.text(max_size=12), max_size=4)),
        "country": maybe_text,
        "device": maybe_text,
        "category": maybe_text,
        "some_new_field": st.one_of(st.integers(), st.text(max_size=8), st.lists(st.integers(), max_size=2)),
    }
    for name, values in optional.items():
        if name not in event and draw(st.booleans()):
            event[name] = draw(values)
    return event

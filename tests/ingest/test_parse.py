"""Property-based tests of the landing parser: it never crashes, and agrees with the JSON Schema contract.

1,000-1,500 examples each (3,000-4,000 until CI ran out of time); the deep run is the bench,
``python bench/bench_fuzz_landing.py 1500`` (about a million generated lines through the whole ingest).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.events_strategies import SCHEMA, valid_events

from socialflywheel.ingest.columnar import split_lines
from socialflywheel.ingest.parse import REASONS, Limits, Rejected, parse_line
from socialflywheel.lake.catalog import EVENT_TYPES

LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


@given(valid_events())
@settings(max_examples=1000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_valid_events_pass_and_match_schema(event: dict[str, Any]) -> None:
    jsonschema.validate(event, SCHEMA)
    parsed = parse_line(json.dumps(event).encode(), LIMITS)
    assert parsed["event_id"] == event["event_id"] and parsed["ts"].tzinfo is not None
    assert parsed["event_date"] == parsed["ts"].date()
    extras = dict(parsed["extras"])
    if event.get("some_new_field") is not None:
        assert "some_new_field" in extras  # additive fields are kept


mutations = st.sampled_from(["drop", "retype", "badts", "badtype", "truncate", "utf8", "bigtext", "notobject"])


@given(valid_events(), mutations, st.data())
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_mutated_events_are_rejected_with_a_known_reason(
    event: dict[str, Any], mutation: str, data: st.DataObject
) -> None:
    expected = {
        "drop": "missing_field",
        "retype": "wrong_type",
        "badts": "bad_timestamp",
        "badtype": "unknown_event_type",
        "truncate": "malformed_json",
        "utf8": "invalid_utf8",
        "bigtext": "oversized_text",
        "notobject": "malformed_json",
    }[mutation]
    if mutation == "drop":
        del event[data.draw(st.sampled_from(["event_id", "event_type", "user_id", "ts"]))]
    elif mutation == "retype":
        event[data.draw(st.sampled_from(["user_id", "event_id"]))] = data.draw(
            st.integers() | st.floats(allow_nan=False)
        )
    elif mutation == "badts":
        event["ts"] = data.draw(
            st.sampled_from(["1970-01-01T00:00:00Z", "2099-05-01T00:00:00Z", "yesterday", "2026-13-45T99:00:00Z"])
        )
    elif mutation == "badtype":
        event["event_type"] = data.draw(st.text(min_size=1, max_size=10).filter(lambda s: s not in EVENT_TYPES))
    elif mutation == "bigtext":
        event["text"] = "é" * (LIMITS.max_text_bytes // 2 + 1)
    raw = json.dumps(event).encode()
    if mutation == "truncate":
        raw = raw[: data.draw(st.integers(1, len(raw) - 1))]
    elif mutation == "utf8":
        raw = raw[:5] + b"\xff\xfe" + raw[5:]
    elif mutation == "notobject":
        raw = json.dumps([event]).encode()
    with pytest.raises(Rejected) as rej:
        parse_line(raw, LIMITS)
    assert rej.value.reason == expected, rej.value.detail
    if mutation in ("drop", "retype", "badtype"):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(json.loads(raw), SCHEMA)


@given(st.binary(max_size=300))
@settings(max_examples=1000, deadline=None)
def test_arbitrary_bytes_never_crash(raw: bytes) -> None:
    reason = None
    try:
        parse_line(raw, LIMITS)
    except Rejected as rej:
        reason = rej.reason
    assert reason is None or reason in REASONS


def test_split_lines_numbers_and_skips_blank() -> None:
    assert split_lines(b'{"a":1}\r\n\n  \n{"b":2}') == [(1, b'{"a":1}'), (4, b'{"b":2}')]


def test_field_mapping_renames_source_fields() -> None:
    line = json.dumps({"id": "e1", "type": "like", "actor": "u1", "item": "p1", "time": 1791000000000}).encode()
    mapping = {"id": "event_id", "type": "event_type", "actor": "user_id", "item": "post_id", "time": "ts"}
    event = parse_line(line, LIMITS, mapping)
    assert event["user_id"] == "u1" and event["ts"] == dt.datetime.fromtimestamp(1791000000, dt.UTC)

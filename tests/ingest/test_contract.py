"""The landing validator is the shipped JSON Schema: it accepts what the schema accepts, names what breaks it.

The oracle is another implementation of the same file (``jsonschema``), so these tests hold whichever
way parse.py compiles the contract. Mutants of parse.py these tests were seen to kill:

- ``_contract()`` folding no ``then`` into the per-type validators (``_fold(base, always)``): a like, view
  or follow without its post_id / target_user_id passed, ``test_one_mutated_field_is_named`` failed (and two
  ``test_reason_wording`` cases);
- ``_rejection()`` without the "required field sent as null or ''" rule (``if False:``): such a field came
  out as ``wrong_type``, ``test_one_mutated_field_is_named`` and two ``test_reason_wording`` cases failed.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import jsonschema
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.events_strategies import SCHEMA, SCHEMA_TYPES, required_for, valid_events

from socialflywheel.ingest.lines import parse_content
from socialflywheel.ingest.parse import Limits, Rejected, parse_line, validate
from socialflywheel.ingest.schema_change import ROW_LEVEL_TYPE_REASONS, SchemaChangeError, StatusCount, check_breaking
from socialflywheel.lake.catalog import EVENT_TYPES

ORACLE = jsonschema.Draft202012Validator(SCHEMA)
PROPS: dict[str, Any] = SCHEMA["properties"]
LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
FAST = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_names(rej: Rejected, reason: str, name: str) -> None:
    """The reason, and the field as the ingest job reads it off the detail to fail a batch that breaks it."""
    assert rej.reason == reason, rej.detail
    if reason in ROW_LEVEL_TYPE_REASONS:  # bronze groups by the detail up to its first ":" (substring_index)
        stats = [StatusCount(source_file="f.jsonl", status=reason, detail=rej.detail.split(":", 1)[0], n=30)]
        with pytest.raises(SchemaChangeError, match=f"field '{name}' is"):
            check_breaking(stats, share=0.5, batch_id="b1")
    else:
        assert rej.detail.startswith(f"{name}: "), rej.detail


@given(valid_events())
@FAST
def test_valid_events_pass(event: dict[str, Any]) -> None:
    assert ORACLE.is_valid(event)
    parsed = parse_line(json.dumps(event).encode(), LIMITS)
    for name in ("event_id", "event_type", "user_id", "post_id", "text", "hashtags", "dwell_ms", "campaign_id"):
        assert parsed[name] == event.get(name)
    assert parsed["ts"].tzinfo is not None and parsed["event_date"] == parsed["ts"].date()
    extras = dict(parsed["extras"])
    assert set(extras) == {k for k in event if k in ("category", "some_new_field") and event[k] is not None}


WRONG_VALUES = st.sampled_from([7, -5, 3.5, True, [], ["x", 1], {"a": 1}, "text", 2**62])


@given(valid_events(), st.sampled_from(["wrong_type", "out_of_enum", "missing"]), st.data())
@FAST
def test_one_mutated_field_is_named(event: dict[str, Any], mutation: str, data: st.DataObject) -> None:
    if mutation == "wrong_type":  # a value of a type (or range) the field's schema does not allow
        name = data.draw(st.sampled_from(sorted(PROPS)))
        value = data.draw(
            WRONG_VALUES.filter(lambda v: not jsonschema.Draft202012Validator(PROPS[name]).is_valid(v)).filter(
                lambda v: name != "event_type" or not isinstance(v, str)  # a string is out_of_enum's case
            )
        )
        event[name] = value
        expected = "wrong_type"
    elif mutation == "out_of_enum":
        name = "event_type"
        event[name] = data.draw(st.text(min_size=1, max_size=12).filter(lambda s: s not in SCHEMA_TYPES))
        expected = "unknown_event_type"
    else:  # a field the contract requires for this type: absent, null or empty
        name = data.draw(st.sampled_from(required_for(event["event_type"])))
        how = data.draw(st.sampled_from(["drop", "null", "empty"]))
        if how == "drop":
            del event[name]
        else:
            event[name] = None if how == "null" else ""
        expected = "missing_field"
    assert not ORACLE.is_valid(event)
    with pytest.raises(Rejected) as rej:
        parse_line(json.dumps(event).encode(), LIMITS)
    assert_names(rej.value, expected, name)


def test_contract_types_are_the_catalog_types() -> None:
    assert tuple(SCHEMA_TYPES) == EVENT_TYPES


@pytest.mark.parametrize(
    ("record", "reason", "detail"),
    [
        ({"event_type": "like", "user_id": "u", "post_id": "p", "ts": 1791000000000}, "missing_field", "event_id"),
        (
            {"event_id": "e", "event_type": "like", "user_id": "u", "ts": 1791000000000},
            "missing_field",
            "post_id (required for like)",
        ),
        (
            {"event_id": "e", "event_type": "follow", "user_id": "u", "target_user_id": "", "ts": 1791000000000},
            "missing_field",
            "target_user_id (required for follow)",
        ),
        (
            {"event_id": "e", "event_type": "search", "user_id": 5, "ts": 1791000000000},
            "wrong_type",
            "user_id: int, expected string",
        ),
        (
            {"event_id": "e", "event_type": "search", "user_id": "u", "ts": 1791000000000, "hashtags": ["a", 2]},
            "wrong_type",
            "hashtags: [1] is int, expected string",
        ),
        (
            {"event_id": "e", "event_type": "search", "user_id": "u", "ts": 1791000000000, "campaign_id": "c" * 257},
            "wrong_type",
            "campaign_id: longer than 256 characters",
        ),
        (
            {"event_id": "e", "event_type": "poke", "user_id": "u", "ts": 1791000000000},
            "unknown_event_type",
            "event_type: 'poke' is not a contract event type",
        ),
        (
            {"event_id": "e", "event_type": "search", "user_id": "u", "ts": True},
            "wrong_type",
            "ts: bool, expected string or number",
        ),
        ({"event_id": "e", "event_type": "search", "user_id": "u", "ts": ""}, "missing_field", "ts"),
    ],
)
def test_reason_wording(record: dict[str, Any], reason: str, detail: str) -> None:
    with pytest.raises(Rejected) as rej:
        validate(record, LIMITS)
    assert (rej.value.reason, rej.value.detail) == (reason, detail)


def test_what_json_schema_cannot_say_stays_in_code() -> None:
    good = {"event_id": "e", "event_type": "search", "user_id": "u"}
    # a typed source's (Parquet's) datetime, and epoch milliseconds with a fraction, are instants
    when = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
    assert validate({**good, "ts": when.replace(tzinfo=None)}, LIMITS)["ts"] == when
    assert validate({**good, "ts": 1791000000000.5}, LIMITS)["ts"].year == 2026
    assert validate({**good, "ts": 1791000000000, "dwell_ms": 5.0}, LIMITS)["dwell_ms"] == 5
    for ts, reason in [("2099-01-01T00:00:00Z", "bad_timestamp"), ("yesterday", "bad_timestamp")]:
        with pytest.raises(Rejected, match=reason):
            validate({**good, "ts": ts}, LIMITS)
    with pytest.raises(Rejected, match="oversized_text"):
        validate({**good, "ts": 1791000000000, "text": "é" * 2049}, LIMITS)
    # an integer over Python's 4300-digit limit is a malformed line, not a crashed task
    with pytest.raises(Rejected, match="malformed_json"):
        parse_line(b'{"event_id": ' + b"1" * 5000 + b"}", LIMITS)


def test_parquet_rows_are_checked_by_the_same_contract() -> None:
    when = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
    table = pa.table(
        {
            "event_id": ["e1", "e2", "e3"],
            "event_type": ["view", "post", "like"],
            "user_id": ["u1", "u2", None],
            "post_id": ["p1", "p2", "p3"],
            "ts": pa.array([when] * 3, pa.timestamp("ms", tz="UTC")),
            "dwell_ms": pa.array([1500, None, None], pa.int64()),
            "hashtags": pa.array([None, ["a", "b"], None], pa.list_(pa.string())),
            "category": [None, "sports", None],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    limits = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    (cols,) = parse_content(sink.getvalue(), rel="x.parquet", sha="0", fmt="parquet", limits=limits, mapping={})
    assert cols["status"] == [None, None, "missing_field"]
    assert cols["detail"][2] == "user_id"
    assert cols["ts"][:2] == [when, when] and cols["dwell_ms"][0] == 1500
    assert cols["extras"][1] == [("category", "sports")]


def test_contract_fields_are_the_catalog_event_columns() -> None:
    """Every column of the catalog's event contract is a property of the landing JSON Schema, with a JSON type
    that the column's Arrow type can hold (the schema may carry more: ``category`` goes to extras).

    Mutation tried: declaring ``dwell_ms`` as a string column in the catalog; this test failed on it."""
    import pyarrow as pa

    from socialflywheel.lake.catalog import EVENT_FIELDS

    props = PROPS

    def json_types(arrow: pa.DataType) -> set[str]:
        if pa.types.is_string(arrow):
            return {"string"}
        if pa.types.is_integer(arrow):
            return {"integer"}
        if pa.types.is_timestamp(arrow):
            return {"string", "number"}  # ISO-8601 text or epoch milliseconds, parsed in code
        if pa.types.is_list(arrow):
            return {"array"}
        raise AssertionError(f"no JSON type for {arrow}")

    for f in EVENT_FIELDS:
        assert f.name in props, f.name
        declared = props[f.name]["type"]
        declared = {declared} if isinstance(declared, str) else set(declared)
        assert declared - {"null"} == json_types(f.type), f.name

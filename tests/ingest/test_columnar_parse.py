"""The columnar landing parse (``ingest/columnar.py``) against the per-line one: the very same Arrow batches.

Whole files are parsed both ways through the parse task's own step (``file_batches``): every batch (its bounds, rows
in order, every value with its type, status, detail, raw bytes and line number) must be equal. Fuzzed over valid
lines in several spellings, the simulator's own corruptions, arbitrary bytes and the nasty cases named one by one.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.events_strategies import valid_events

from socialflywheel.ingest import columnar
from socialflywheel.ingest.columnar import iter_lines
from socialflywheel.ingest.landing import LandingFile
from socialflywheel.ingest.lines import _EVENT_ARROW, PARSED_ARROW, file_batches
from socialflywheel.ingest.parse import Limits
from socialflywheel.simulate.corrupt import corrupt_lines

LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), max_text_bytes=64, max_line_bytes=2000)
BASE = {"event_id": "e1", "event_type": "view", "user_id": "u1", "post_id": "p1", "ts": "2026-10-01T12:00:05Z"}
CORRUPTIONS = (
    "malformed_json",
    "missing_field",
    "wrong_type",
    "bad_timestamp",
    "unknown_event_type",
    "oversized_text",
    "invalid_utf8",
)


def batches(content: bytes, *, columnar_path: bool, chunk: int = 20_000, part: tuple[int, int] | None = None) -> list:
    file = LandingFile("events/f.jsonl", "file:///f.jsonl", len(content), "ab" * 32, part=part)
    kw: dict[str, Any] = {"fmt": "json", "limits": LIMITS, "mapping": {}, "chunk": chunk}
    return list(file_batches(content, file, columnar=columnar_path, **kw))


def typed(value: Any) -> Any:
    """Values with their types (5 == 5.0 == True in Python, not in the lake)."""
    if isinstance(value, list | tuple):
        return [typed(v) for v in value]
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    return (type(value), value)


def same_both_ways(content: bytes, **kw: Any) -> list[pa.RecordBatch]:
    """Parse ``content`` both ways and check the batches are equal; returns the columnar path's."""
    fast, exact = batches(content, columnar_path=True, **kw), batches(content, columnar_path=False, **kw)
    assert [b.num_rows for b in fast] == [b.num_rows for b in exact]
    for a, b in zip(fast, exact, strict=True):
        assert a.schema == b.schema == PARSED_ARROW
        assert typed(a.to_pylist()) == typed(b.to_pylist())
        assert a.equals(b)
    return fast


def line(**change: Any) -> bytes:
    event = {**BASE, **change}
    return json.dumps({k: v for k, v in event.items() if v is not ...}, ensure_ascii=False).encode()


plain_ts = st.tuples(
    st.datetimes(min_value=dt.datetime(2014, 6, 1), max_value=dt.datetime(2030, 6, 1), timezones=st.just(dt.UTC)),
    st.sampled_from(["seconds", "milliseconds", "microseconds"]),
).map(lambda d: d[0].isoformat(timespec=d[1]).replace("+00:00", "Z"))
odd_ts = st.sampled_from(
    [
        "2026-02-29T00:00:00Z",
        "2024-02-29T23:59:59Z",
        "2026-10-01T24:00:00Z",
        "2026-12-31T23:59:60Z",
        "0000-01-01T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-10-01T12:00:05z",
        "2026-10-01T12:00:05",
        "2026-10-01T12:00:05+02:00",
        "2026-10-01T12:00:05.5Z",
        "2026-10-01T12:00:05.1234Z",
        "2026-10-01T12:00:05.1234567Z",
        "2026-02-29T00:00:00.000Z",
        "2026-10-01T12:00:60.000Z",
        "2026-10-01T12:00:05.999999Z",
        "2026-10-01T12:00:05.000+00:00",
        "2026-10-01T12:00:05.00aZ",
        "2029-12-31T23:59:59.999999Z",
        "2026-10-01 12:00:05Z",
        "２０２６-10-01T12:00:05Z",
        "2026-10-01T12:00:05Z\n",
        "",
    ]
)


@st.composite
def event_lines(draw: st.DrawFn) -> bytes:
    """A contract event (the shared strategy), often with a plain UTC ts, in one of several spellings."""
    event = draw(valid_events())
    pick = draw(st.integers(0, 9))
    if pick < 6:
        event["ts"] = draw(plain_ts)
    elif pick == 6:
        event["ts"] = draw(odd_ts)
    ascii_only = draw(st.booleans())
    return json.dumps(event, ensure_ascii=ascii_only, separators=(",", ":") if ascii_only else None).encode()


@st.composite
def simulated_lines(draw: st.DrawFn) -> bytes:
    """A line shaped as the simulator writes one (what its corruptions expect), from the shared strategy's event."""
    event = draw(valid_events())
    event["user_id"] = f"u{draw(st.integers(0, 10**6))}"
    event["ts"] = draw(st.one_of(plain_ts, plain_ts, odd_ts))
    if event.get("hashtags") is None:
        event.pop("hashtags", None)
    if event.get("dwell_ms") is None:
        event.pop("dwell_ms", None)
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


nasty = st.sampled_from(
    [
        b"\xef\xbb\xbf" + line(),
        b"",
        b"   ",
        b"[1, 2]",
        b'"a string"',
        b"1",
        b"null",
        line()[:-1] + b', "event_id": "e2"}',
        line()[:-1] + b', "event_type": "like"}',
        line(user_id=5),
        line(post_id=7),
        line(dwell_ms=2**64),
        line(dwell_ms=2**62),
        line(dwell_ms=2**62 - 1),
        line(dwell_ms=5.0),
        line(dwell_ms=-1),
        line()[:-1] + b', "dwell_ms": 1e400}',
        line()[:-1] + b', "dwell_ms": ' + b"9" * 5000 + b"}",
        line(ts=1790000000000),
        line(ts=1.5e12),
        line(ts=True),
        line(text="x" * 64),
        line(text="é" * 32),
        line(text="é" * 32 + "x"),
        line(text="x" * 65),
        line()[:-1] + b', "text": "\\ud800"}',
        line()[:-1] + b', "text": "\\ud83d\\ude00 ok"}',
        line(category="sports"),
        line(category=None),
        line(category=5),
        line(some_new_field=1),
        line(some_new_field={"a": [1, None]}, category="food"),
        line(category="a", other="b"),
        line(user_id=None),
        line(user_id=""),
        line(event_id=""),
        line(post_id=None),
        line(post_id=""),
        line(post_id=...),
        line(event_type="follow", target_user_id=""),
        line(event_type="ad_click", campaign_id=None),
        line(event_type="search", post_id=""),
        line(event_type="bogus"),
        line(event_id="x" * 257),
        line(hashtags=["a", 1]),
        line(hashtags=[]),
        line(hashtags=["é", ""]),
        line(text="x" * 1990),
        b'{"event_id": "e1", "event_type": "view", "user_id": "u1", "post_id": "p1", "ts": "2026-10-01T12:00:05Z"',
        b"\xff\xfe" + line(),
        line()[:-1] + b', "nested": ' + b"[" * 200 + b"]" * 200 + b"}",
        line()[:-1] + b"} {}",
        line()[:-1] + b"},{" + line()[1:],
    ]
)

any_line = st.one_of(event_lines(), nasty, st.binary(max_size=40), st.just(line()))


@given(
    st.lists(any_line, min_size=1, max_size=60),
    st.sampled_from([b"\n", b"\r\n"]),
    st.integers(1, 25),
    st.booleans(),
)
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_mixed_files_parse_the_same_both_ways(lines: list[bytes], end: bytes, chunk: int, bom: bool) -> None:
    content = (b"\xef\xbb\xbf" if bom else b"") + end.join(lines) + end
    same_both_ways(content, chunk=chunk)


@given(st.lists(simulated_lines(), min_size=1, max_size=80), st.integers(0, 2**32 - 1), st.integers(1, 40))
@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_simulator_corruptions_parse_the_same_both_ways(valid: list[bytes], seed: int, chunk: int) -> None:
    rates = dict.fromkeys(CORRUPTIONS, 0.08)
    mixed, _ = corrupt_lines(valid, rates, np.random.default_rng(seed), "t")
    same_both_ways(b"\n".join(mixed), chunk=chunk)


@pytest.mark.parametrize("case", range(len(nasty.elements)))  # type: ignore[attr-defined]
def test_each_nasty_line_parses_the_same_both_ways(case: int) -> None:
    bad = nasty.elements[case]  # type: ignore[attr-defined]
    for content in (bad, line() + b"\n" + bad + b"\r\n" + line(event_id="e9"), bad + b"\n" + bad):
        same_both_ways(content, chunk=2)
        same_both_ways(content)


def test_parts_of_a_file_parse_the_same_both_ways() -> None:
    content = b"\n".join([line(event_id=f"e{i}") for i in range(30)] + [b"oops", b"", line(dwell_ms="x")])
    for part in [(1, 5), (3, 3), (10, 33), (31, 40), (2, None)]:
        same_both_ways(content, part=part, chunk=4)  # type: ignore[arg-type]


def test_the_columnar_path_takes_plain_lines() -> None:
    """Not vacuous: the columnar path itself takes valid lines with a plain UTC ts, and leaves the odd ones."""
    fractions = ["", ".250", ".000001"]  # seconds, milli- and microseconds: all three plain spellings
    lines = [line(event_id=f"e{i}", ts=f"2026-10-{i % 28 + 1:02d}T12:00:05{fractions[i % 3]}Z") for i in range(50)]
    lines += [line(category="sports"), line(ts="2026-10-01T12:00:05+00:00"), line(post_id=""), b"nope"]
    lines += [line(category="a", other="b"), line(text="x" * 65), line(ts="2026-02-29T00:00:00Z")]
    taken, events = columnar.accept_chunk(lines, LIMITS, _EVENT_ARROW)
    assert taken.tolist() == list(range(51))
    assert events.num_rows == 51
    assert events.column("extras")[50].as_py() == [("category", "sports")]
    assert [t.microsecond for t in events.column("ts").to_pylist()[:3]] == [0, 250_000, 1]
    same_both_ways(b"\n".join(lines))


@given(st.lists(st.sampled_from([b"a", b"", b" ", b"\r", b"b\r", b"\r\r", b"c d"]), max_size=30), st.integers(1, 8))
def test_lines_split_as_the_per_line_reader_splits_them(pieces: list[bytes], block: int) -> None:
    content = b"\n".join(pieces)
    for first, last in [(1, None), (2, 5), (4, 4), (7, None)]:
        expected = list(iter_lines(content, first, last))
        assert list(columnar.json_lines(content, first, last, block=block)) == expected

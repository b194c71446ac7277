"""Mapped lines parsed columnar (``ingest/mapping_columnar.py``, ``mapped_batch.py``) and per line: the same batches.

Every shipped profile's fixture, and records fuzzed from each profile's own paths (every value kind JSON has, keys
missing, lists empty or holding nulls, filters that match or not, ids as numbers, text that needs trimming, junk
lines among them), are parsed both ways through the parse task's own step; every batch must be equal, value and type.
The columnar path must also take the plain lines itself (it is not a test of the fallback alone).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ingest.test_columnar_parse import typed

from socialflywheel.config.sources import compile_path
from socialflywheel.ingest.landing import LandingFile
from socialflywheel.ingest.lines import PARSED_ARROW, file_batches
from socialflywheel.ingest.mapped_batch import map_chunk
from socialflywheel.ingest.mapping import Mapper, load_source, source_names
from socialflywheel.ingest.parse import Limits

LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), max_text_bytes=64, max_line_bytes=4000)
FIXTURES = Path(__file__).parent / "sources"
EVENTS = pa.schema([*list(PARSED_ARROW)[: len(PARSED_ARROW) - 6], PARSED_ARROW.field("detail")])


def batches(content: bytes, source: str, *, columnar: bool, chunk: int = 20_000) -> list[Any]:
    file = LandingFile("events/f.jsonl", "file:///f.jsonl", len(content), "ab" * 32)
    mapper = Mapper(load_source(source))
    return list(file_batches(content, file, fmt="json", limits=LIMITS, mapping=mapper, columnar=columnar, chunk=chunk))


def same_both_ways(content: bytes, source: str, chunk: int = 20_000) -> None:
    fast, exact = (
        batches(content, source, columnar=True, chunk=chunk),
        batches(content, source, columnar=False, chunk=chunk),
    )
    assert [b.num_rows for b in fast] == [b.num_rows for b in exact]
    for a, b in zip(fast, exact, strict=True):
        assert a.schema == b.schema == PARSED_ARROW
        assert typed(a.to_pylist()) == typed(b.to_pylist())
        assert a.equals(b)


@pytest.mark.parametrize("source", source_names())
def test_each_profile_fixture_parses_the_same_both_ways_and_is_taken_columnar(source: str) -> None:
    content = (FIXTURES / f"{source}.jsonl").read_bytes()
    same_both_ways(content, source)
    lines = [ln for ln in content.splitlines() if ln.strip()]
    taken, _, _ = map_chunk(lines, Mapper(load_source(source)), LIMITS, EVENTS)
    exact = batches(content, source, columnar=False)[0].to_pylist()
    refused = {r["line_no"] for r in exact if r["status"] is not None}
    good = [i for i in range(len(lines)) if i + 1 not in refused]
    # The columnar path takes only lines the per-line path maps whole, and it takes every one of them here.
    assert sorted(int(i) for i in taken.nonzero()[0]) == good, source


# ---- records fuzzed from a profile's paths ------------------------------------------------------------------------

scalar = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " x ", "retweeted", "quoted", "replied_to", "reblog", "2026-10-01T12:00:05.123Z", "\u00e9#tag"]
    ),
    st.sampled_from(["2026-10-01T12:00:05Z", "2026-10-01T12:00:05+02:00", "Wed Oct 10 20:19:24 +0000 2018", "#a #b"]),
    st.integers(-(2**70), 2**70),
    st.integers(0, 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5,
)


def _place(record: dict[str, Any], steps: tuple[tuple[str, Any, Any], ...], leaf: Any, draw: Any) -> None:
    """Put ``leaf`` at the path ``steps`` into ``record`` (lists for fan-outs, filter keys set or not)."""
    node: Any = record
    for i, (kind, a, b) in enumerate(steps):
        last = i == len(steps) - 1
        if kind == "key":
            if not isinstance(node, dict):
                return
            if last:
                node[a] = leaf
                return
            nxt = steps[i + 1][0]
            node = node.setdefault(a, [] if nxt in ("each", "where") else {})
        else:
            if not isinstance(node, list):
                return
            item: Any = leaf if last else {}
            if kind == "where" and isinstance(item, dict):
                item[a] = b if draw(st.booleans()) else draw(scalar)
            node.append(item)
            if draw(st.booleans()):
                node.append(draw(value))
            node = item


@st.composite
def records(draw: Any, source: str) -> bytes:
    paths = load_source(source).paths()
    record: dict[str, Any] = {}
    for path in draw(st.lists(st.sampled_from(paths), max_size=len(paths))) + paths[: draw(st.integers(0, len(paths)))]:
        _place(record, compile_path(path), draw(st.one_of(scalar, value)), draw)
    return json.dumps(record, ensure_ascii=draw(st.booleans())).encode()


junk = st.sampled_from(
    [b"null", b"[1]", b'{"a": 1} {"b": 2}', b'{"a": NaN}', b'{"a": 1, "a": "x"}', b'{"a": "\\ud800"}', b"\xff{}", b"{"]
)


@pytest.mark.parametrize("source", source_names())
@given(data=st.data(), chunk=st.integers(1, 30))
@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")), suppress_health_check=[HealthCheck.too_slow], deadline=None
)
def test_fuzzed_records_parse_the_same_both_ways(source: str, data: st.DataObject, chunk: int) -> None:
    lines = data.draw(st.lists(st.one_of(records(source), records(source), junk), min_size=1, max_size=40))
    same_both_ways(b"\n".join(lines) + b"\n", source, chunk=chunk)


def test_fixture_lines_repeated_with_their_fields_as_numbers_parse_the_same() -> None:
    """Ids given as numbers, times in other spellings: the columnar path's casts against Python's str()."""
    out = []
    for raw in (FIXTURES / "twitter-v2.jsonl").read_bytes().splitlines():
        record = json.loads(raw)
        out.append(raw)
        for key, change in (("id", 12345678901234567), ("author_id", -5), ("created_at", "2026-10-01T12:00:05.5Z")):
            if key in record:
                out.append(json.dumps({**record, key: change}).encode())
    same_both_ways(b"\n".join(out), "twitter-v2")


@pytest.mark.parametrize("depth", [10, 399, 400, 401, 990, 996, 999, 1000, 1005, 3000])
def test_nesting_near_the_recursion_limit_parses_the_same_both_ways(depth: int) -> None:
    """A field the mapping never reads, nested near Python's recursion limit: refused or taken alike both ways."""
    record = json.loads((FIXTURES / "twitter-v2.jsonl").read_bytes().splitlines()[0])
    raw = json.dumps(record).encode()[:-1] + b', "deep": ' + b"[" * depth + b"]" * depth + b"}"
    same_both_ways(raw + b"\n" + json.dumps(record).encode(), "twitter-v2")

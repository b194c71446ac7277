"""The fast landing parser (msgspec, ``ingest/fastparse.py``) against the exact one (``parse_line``).

The fast path may only accept: for every line it returns an event for, the exact parser returns the very same
event (values and their types); every other line goes to the exact parser, so reasons and details never change.
Fuzzed over valid contract events in several JSON spellings, mutated events, arbitrary JSON values, arbitrary
bytes and the spellings where two JSON decoders are known to differ.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.ingest.events_strategies import valid_events

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import lines as lines_module
from socialflywheel.ingest.fastparse import fast_event
from socialflywheel.ingest.lines import _EVENT_NAMES, parse_content
from socialflywheel.ingest.parse import Limits, Rejected, parse_line
from socialflywheel.lake.io import Lake

LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC), max_text_bytes=64)


def typed(values: list[Any]) -> list[tuple[type, Any]]:
    """Values with their types: 5 == 5.0 == True in Python, but not in the lake."""
    return [(type(v), typed(v) if isinstance(v, list) else v) for v in values]


def agrees(line: bytes) -> None:
    """The fast path's event, when it gives one, is the exact parser's event."""
    fast = fast_event(line, LIMITS)
    if fast is None:
        return
    try:
        event = parse_line(line, LIMITS)
    except Rejected as rej:
        pytest.fail(f"fast path accepted a line the contract rejects ({rej.reason}: {rej.detail}): {line!r}")
    assert typed(fast) == typed([event[name] for name in _EVENT_NAMES]), line


spellings = st.sampled_from(
    [
        lambda e: json.dumps(e),
        lambda e: json.dumps(e, ensure_ascii=False),
        lambda e: json.dumps(e, separators=(",", ":")),
        lambda e: json.dumps(e, indent=1).replace("\n", " "),
        lambda e: json.dumps(dict(reversed(list(e.items())))),
    ]
)


@given(valid_events(), spellings)
@settings(max_examples=2000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_valid_events_agree(event: dict[str, Any], spell: Any) -> None:
    agrees(spell(event).encode())


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
tricky_values = st.sampled_from(
    [
        None,
        "",
        True,
        0,
        5.0,
        -1,
        2**62,
        2**62 - 1,
        10**30,
        1e300,
        "é" * 70,
        "\ud800",  # lone surrogates: escaped by ensure_ascii, raw (invalid UTF-8) otherwise
        "a\udfffb",
        "\ud83d\ude00",
        "2026-10-01 12:00:00",
        "2026-10-01T12:00:00+05:30",
        "2026-10-01T12:00:00z",
        "2026-10-01t12:00:00Z",
        "2026-10-01T12:00:00.123456789Z",
        "2026-10-01T23:59:60Z",
        "2026-10-01",
        " 2026-10-01T12:00:00Z ",
        1790000000000.5,
        1790000000000,
        ["a", 1],
        ["x"],
        "view",
        "post",
        "follow",
        "ad_click",
    ]
)


@given(valid_events(), st.data())
@settings(max_examples=3000, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_changed_fields_agree(event: dict[str, Any], data: st.DataObject) -> None:
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from([*event, "post_id", "dwell_ms", "ts", "text", "hashtags", "category", "x"]))
        if data.draw(st.booleans()):
            event[name] = data.draw(tricky_values | json_values)
        else:
            event.pop(name, None)
    agrees(json.dumps(event, ensure_ascii=data.draw(st.booleans())).encode("utf-8", "surrogatepass"))


@given(json_values)
@settings(max_examples=1000, deadline=None)
def test_arbitrary_json_agrees(value: Any) -> None:
    agrees(json.dumps(value).encode())


@given(st.binary(max_size=200))
@settings(max_examples=1000, deadline=None)
@example(b'{"event_id":"a","event_type":"view","user_id":"u","post_id":"p","ts":"2026-10-01T00:00:00Z"}')
def test_arbitrary_bytes_agree(raw: bytes) -> None:
    agrees(raw)


BASE = '"event_id":"e1","event_type":"view","user_id":"u1","post_id":"p1","ts":"2026-10-01T00:00:00Z"'


@pytest.mark.parametrize(
    "line",
    [
        "{" + BASE + "}",
        "{" + BASE + ',"user_id":"u2"}',  # a repeated key: the last one counts, in both decoders
        "{" + BASE + ',"dwell_ms":5.0}',  # an integral float where the column is bigint
        "{" + BASE + ',"text":"\\u00e9t\\u00e9"}',
        "{" + BASE + ',"text":"\\ud800"}',  # lone surrogate escapes: msgspec refuses them all
        "{" + BASE + ',"text":"a\\udc00"}',
        "{" + BASE + ',"text":"\\ud800\\u0041"}',
        "{" + BASE + ',"hashtags":["\\udfff"]}',
        "{" + BASE + ',"category":"\\ud800"}',
        "{" + BASE + ',"text":"\\ud83d\\ude00"}',
        "{" + BASE + ',"category":"news","zz":1}',
        "{" + BASE + ',"category":"news"}',
        "{" + BASE + ',"dwell_ms":NaN}',
        "{" + BASE + ',"dwell_ms":1e400}',
        "\ufeff{" + BASE + "}",
        "{" + BASE + "} x",
        "{" + BASE + ',"text":"' + "é" * 17 + '"}',  # 34 bytes: under the 64-byte limit
        "{" + BASE + ',"text":"' + "😀" * 17 + '"}',  # 68 bytes: over it
    ],
)
def test_spellings_where_decoders_differ_agree(line: str) -> None:
    agrees(line.encode())


def test_fast_path_takes_nearly_every_valid_simulated_line(tiny_lake: tuple[FlywheelConfig, Lake]) -> None:
    """The fast path is used: of the simulator's valid lines (the common case) it takes at least 99%."""
    cfg, _ = tiny_lake
    valid = taken = 0
    for path in sorted(cfg.landing_dir.rglob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                parse_line(line, Limits())
            except Rejected:
                continue
            valid += 1
            taken += fast_event(line, Limits()) is not None
    assert valid > 10_000 and taken >= 0.99 * valid, (taken, valid)


def test_a_file_parses_the_same_with_and_without_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whole files: every column of every row (quarantined lines with their reasons and details) is the same."""
    lines = ["{" + BASE.replace("e1", f"e{i}") + "}" for i in range(50)]
    lines += ['{"event_id":"x"}', "not json", "{" + BASE + ',"dwell_ms":5.0}', "{" + BASE + ',"a":[1]}']
    content = ("\ufeff" + "\n".join(lines) + "\r\n\n").encode()
    kw: dict[str, Any] = {"rel": "f.jsonl", "sha": "s", "fmt": "json", "limits": LIMITS, "mapping": {}, "chunk": 7}
    fast = list(parse_content(content, **kw))
    monkeypatch.setattr(lines_module, "fast_event", lambda line, limits: None)
    exact = list(parse_content(content, **kw))
    assert [{k: typed(v) for k, v in c.items()} for c in fast] == [{k: typed(v) for k, v in c.items()} for c in exact]
    assert sum(len(c["line_no"]) for c in fast) == len(lines)


@pytest.mark.parametrize(
    "spec",
    [
        {"type": "string", "pattern": "^a"},  # a rule msgspec would not check the same way
        {"type": "object"},
        {"type": ["integer", "string"], "enum": [1, "a"]},
        {"type": "array", "items": {"type": "integer"}},
    ],
)
def test_a_contract_rule_without_a_fast_mapping_is_refused(spec: dict[str, Any]) -> None:
    """The fast path never guesses a rule: a contract keyword or type it has no mapping for fails its build."""
    from socialflywheel.ingest.fastparse import _field_type

    with pytest.raises(ValueError, match="no fast-path mapping"):
        _field_type("x", spec)

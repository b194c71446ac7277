"""Fuzzing the whole landing path: file bytes -> parsed rows -> Arrow batches -> bronze, nothing crashing a batch.

Files mix valid contract events, random bytes and hostile values (lone surrogate escapes, integers over 4,300
digits, timestamps that leave years 1..9999, NUL, a BOM, CR-only and CRLF line ends, deep nesting, lines over
the size limit). The oracle for lines is independent of the parser: the file split on LF, a trailing CR dropped,
blank lines skipped. Hypothesis draws the events and a seed; the seed expands each file to ~700 lines, so the
suite feeds well over 100,000 lines in ~10 s (FLYWHEEL_FUZZ_EXAMPLES raises the count for a longer run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.conftest import make_config
from tests.ingest.events_strategies import valid_events

from socialflywheel.ingest import run_ingest
from socialflywheel.ingest.landing import LandingFile
from socialflywheel.ingest.lines import PARSED_ARROW, file_batches
from socialflywheel.ingest.parse import REASONS, Limits, Rejected, parse_line
from socialflywheel.lake.catalog import table
from socialflywheel.lake.io import Lake

LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
EXAMPLES = int(os.environ.get("FLYWHEEL_FUZZ_EXAMPLES", "180"))
LINES_PER_FILE = 700
MIN_LINES = 100_000
# A seed, not st.randoms(): each of a file's ~5,000 random draws would be a Hypothesis choice (too large to run).
SEEDS = st.integers(0, 2**64 - 1)
SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

# JSON text put in place of a field's value.
HOSTILE_VALUES: list[bytes] = [
    b'"\\ud800"',
    b'"x\\udfff"',
    b'"\\ud83d"',
    b'"\\ud83d\\ude00"',  # a valid pair: one code point
    b'"\\u0000"',
    b'"\x00"',  # a raw NUL inside a string (JSON forbids it)
    b"1" * 5000,
    b"-" + b"9" * 4301,
    b"1e400",
    b"-1e400",
    b"NaN",
    b"Infinity",
    b"1e300",
    b"-62135596800001",
    b"253402300800000",
    b"4611686018427387904",
    b'"0001-01-01T00:30:00+01:00"',
    b'"9999-12-31T23:30:00-01:00"',
    b'"0000-01-01T00:00:00Z"',
    b'"2026-10-02T10:00:00+25:00"',
    b'"2026-02-30T00:00:00Z"',
    b'"2026-10-02T10:00:00.123456789Z"',
    b'"\xef\xbb\xbf2026-10-02T10:00:00Z"',
    b"[" * 900 + b"]" * 900,
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 400 + b"1" + b"}" * 400,
    b"null",
    b"true",
    b'""',
    b"[]",
    b'["a", 1, null]',
    b'"' + "é".encode() * 2100 + b'"',
]
FIELDS = ["event_id", "event_type", "user_id", "post_id", "ts", "dwell_ms", "text", "hashtags", "country", "extra"]
NOT_OBJECTS = [b"[]", b"42", b'"s"', b"null", b"[" * 2000, b"{" * 3000, b"\xef\xbb\xbf{}", b"{}", b"{\x00}"]
SEPARATORS = [b"\n", b"\r\n", b"\r", b"\n\n", b"\n \t\n"]


def with_raw_value(event: dict[str, Any], field: str, raw: bytes) -> bytes:
    """An event's JSON with ``field`` set to the literal JSON text ``raw``."""
    parts = [json.dumps(k).encode() + b": " + (raw if k == field else json.dumps(v).encode()) for k, v in event.items()]
    if field not in event:
        parts.append(json.dumps(field).encode() + b": " + raw)
    return b"{" + b", ".join(parts) + b"}"


def mutated(rng: random.Random, raw: bytes) -> bytes:
    """A valid line damaged at one random place."""
    at = rng.randrange(len(raw) + 1)
    how = rng.randrange(6)
    if how == 0:
        return raw[:at]
    if how == 1:
        return raw[:at] + bytes([rng.randrange(256)]) + raw[at + 1 :]
    if how == 2:
        return raw[:at] + b"\x00" + raw[at:]
    if how == 3:
        return b"\xef\xbb\xbf" + raw
    if how == 4:
        return raw[:at] + b"\r" + raw[at:]
    return raw[:at] + b"\x80\xc3" + raw[at:]


def landing_line(rng: random.Random, events: list[dict[str, Any]]) -> bytes:
    event = dict(rng.choice(events))
    roll = rng.random()
    if roll < 0.35:
        return json.dumps(event, ensure_ascii=rng.random() < 0.5).encode()
    if roll < 0.6:
        return with_raw_value(event, rng.choice(FIELDS), rng.choice(HOSTILE_VALUES))
    if roll < 0.65:
        return json.dumps(event).encode()[:-1] + b', "\\ud800": 1}'
    if roll < 0.8:
        return mutated(rng, json.dumps(event).encode())
    if roll < 0.9:
        return rng.randbytes(rng.randrange(1, 200))
    if roll < 0.998:
        return rng.choice(NOT_OBJECTS)
    return b'{"text": "' + b"z" * (LIMITS.max_line_bytes + 10) + b'"}'


def landing_file(rng: random.Random, events: list[dict[str, Any]], lines: int) -> bytes:
    parts = [b"\xef\xbb\xbf" if rng.random() < 0.2 else b""]
    for _ in range(lines):
        parts += [landing_line(rng, events), rng.choices(SEPARATORS, weights=[85, 8, 2, 3, 2])[0]]
    return b"".join(parts)


def lines_on_disk(content: bytes) -> dict[int, bytes]:
    """The oracle: numbered non-blank lines, split on LF with a trailing CR dropped (not the parser's code)."""
    out = {}
    for number, raw in enumerate(content.split(b"\n"), start=1):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if line.strip():
            out[number] = line
    return out


def reason_of(raw: bytes) -> str | None:
    """What the line parser alone says of a line (the file path must agree, line for line)."""
    try:
        parse_line(raw, LIMITS)
    except Rejected as rej:
        return rej.reason
    except Exception:
        return "parse_error"
    return None


BOM = b"\xef\xbb\xbf"
BRONZE = table("bronze.events").schema
QUARANTINE = table("bronze.quarantine").schema


def check_file(content: bytes) -> int:
    """Run one file through the parse task's own per-file step and check every line; returns the rows seen."""
    file = LandingFile("events/fuzz.jsonl", "file:///fuzz.jsonl", len(content), "0" * 64)
    batches = list(file_batches(content, file, fmt="json", limits=LIMITS, mapping={}))
    parsed = pa.Table.from_batches(batches, schema=PARSED_ARROW)
    expected = lines_on_disk(content)
    assert parsed.column("line_no").to_pylist() == list(expected)  # every line once, in order
    assert parsed.column("raw").to_pylist() == list(expected.values())  # its own bytes
    statuses = parsed.column("status").to_pylist()
    assert set(statuses) <= {None, *REASONS}
    # no row changed by the Arrow fallback; a byte order mark starting the file is not line 1's content
    assert statuses == [reason_of(raw.removeprefix(BOM) if n == 1 else raw) for n, raw in expected.items()]
    ok = parsed.filter(pc.is_null(parsed["status"]))
    rejected = parsed.filter(pc.is_valid(parsed["status"]))
    # What bronze stores, in its own types: valid rows as bronze.events, the rest as bronze.quarantine.
    events = ok.select([n for n in BRONZE.names if n in ok.column_names])
    events.cast(pa.schema([BRONZE.field(n) for n in events.column_names]))
    assert ok.column("event_id").null_count == 0 and ok.column("ts").null_count == 0
    if ok.num_rows:
        ts = ok.column("ts")
        assert pc.min(ts).as_py() >= LIMITS.min_ts and pc.max(ts).as_py() <= LIMITS.max_ts
    quarantine = rejected.rename_columns(["reason" if n == "status" else n for n in rejected.column_names])
    quarantine = quarantine.select(["raw", "reason", "detail", "source_file", "file_sha256", "line_no"])
    quarantine.cast(pa.schema([QUARANTINE.field(n) for n in quarantine.column_names]))
    assert rejected.column("event_id").null_count == rejected.num_rows
    assert all(d and "\n" not in d for d in rejected.column("detail").to_pylist())
    return parsed.num_rows


def test_fuzz_file_bytes_to_bronze_rows_over_100k_lines() -> None:
    """Every generated line yields exactly one row, valid or quarantined with a known reason; none raises."""
    seen = {"lines": 0, "files": 0}

    @given(st.lists(valid_events(), min_size=1, max_size=6), SEEDS)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=SLOW_OK,
    )
    def one_file(events: list[dict[str, Any]], seed: int) -> None:
        seen["lines"] += check_file(landing_file(random.Random(seed), events, LINES_PER_FILE))
        seen["files"] += 1

    one_file()
    print(f"fuzz: {seen['lines']} lines in {seen['files']} files")
    if EXAMPLES >= 180:
        assert seen["lines"] >= MIN_LINES, seen


def test_fuzz_through_run_ingest(spark: Any, tmp_path: Path) -> None:
    """The same files, and a sibling with a name the engine cannot read, through the real batch into bronze:
    reconciled, every line in bronze.events or bronze.quarantine, one entry for the bad name."""

    @given(st.lists(valid_events(), min_size=1, max_size=6), SEEDS, st.booleans())
    @settings(max_examples=10, deadline=None, database=None, suppress_health_check=SLOW_OK)
    def one_batch(events: list[dict[str, Any]], seed: int, bad_name: bool) -> None:
        rng = random.Random(seed)
        cfg = make_config(Path(tempfile.mkdtemp(dir=tmp_path)))
        folder = cfg.landing_dir / "events"
        folder.mkdir(parents=True)
        content = landing_file(rng, events, 150)
        (folder / "fuzz.jsonl").write_bytes(content)
        if bad_name:
            with open(os.path.join(os.fsencode(folder), b"bad\n\xff.jsonl"), "wb") as fh:
                fh.write(landing_file(rng, events, 20))
        lake = Lake.from_config(cfg)
        out = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
        assert out.reconciled and out.batches == 1
        assert out.rows_in == len(lines_on_disk(content)) + bad_name
        assert out.rows_in == out.rows_new + out.rows_quarantined  # a fresh lake: nothing already present
        assert (lake.read_arrow("bronze.events").num_rows if out.rows_new else 0) == out.rows_new
        assert lake.read_arrow("bronze.quarantine").num_rows == out.rows_quarantined
        assert set(out.quarantined_by_reason) <= {*REASONS, "duplicate"}
        assert out.quarantined_by_reason.get("bad_file_name", 0) == bad_name

    one_batch()

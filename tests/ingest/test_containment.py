"""Per-line containment (issue #16, item 2): a hostile line or file name is one quarantine row, never a failed batch.

Each case goes through ``run_ingest`` on a fresh lake, so the same test ran on the code before the change
(58a8224): the docstrings say how each failed there, as seen by running them against a copy of that commit. The
units at the end test the pieces of the fix directly.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_ingest
from socialflywheel.ingest.bronze import IngestResult
from socialflywheel.ingest.landing import (
    LandingFile,
    UnreadableLandingFile,
    discover,
    escape_name,
    name_problem,
    split_batches,
)
from socialflywheel.ingest.lines import parse_content, to_record_batch
from socialflywheel.ingest.parse import Limits, Rejected, validate
from socialflywheel.lake.io import Lake


def event(i: int, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": f"e{i}",
        "event_type": "view",
        "user_id": f"u{i % 4}",
        "post_id": f"p{i % 3}",
        "ts": "2026-10-02T10:00:00Z",
        "dwell_ms": 1000 + i,
    }
    base.update(extra)
    return base


def line(i: int, **extra: Any) -> bytes:
    return json.dumps(event(i, **extra)).encode()


def write_landing(cfg: FlywheelConfig, name: bytes | str, lines: list[bytes]) -> None:
    """A landing file under events/; a bytes name is written as is (it may not be UTF-8)."""
    path = os.path.join(os.fsencode(cfg.landing_dir / "events"), name if isinstance(name, bytes) else name.encode())
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(b"\n".join(lines) + b"\n")


GOOD = [line(i) for i in range(10)]


def ingest_one_poison_line(spark: Any, cfg: FlywheelConfig, lake: Lake, poison: bytes) -> dict[str, Any]:
    """Ingest 5 good lines, the poison line (line 6) and 5 more; return the poison line's quarantine row."""
    write_landing(cfg, "part-0.jsonl", [*GOOD[:5], poison, *GOOD[5:]])
    out = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    assert (out.rows_in, out.rows_new, out.rows_quarantined) == (11, 10, 1)
    assert out.reconciled
    (row,) = lake.read_arrow("bronze.quarantine").to_pylist()
    assert row["raw"] == poison and row["line_no"] == 6 and row["source_file"] == "events/part-0.jsonl"
    assert lake.read_arrow("bronze.events").num_rows == 10
    return row


@pytest.mark.parametrize(
    "poison",
    [
        b'{"event_id": ' + b"1" * 5000 + b"}",
        line(99)[:-1] + b', "dwell_ms": ' + b"9" * 4400 + b"}",
        line(99)[:-1] + b', "big": -' + b"7" * 4301 + b"}",
    ],
    ids=["event_id", "dwell_ms", "extra"],
)
def test_integer_over_4300_digits_is_one_malformed_line(
    poison: bytes, spark: Any, work: FlywheelConfig, lake: Lake
) -> None:
    """Passed before this change too (fixed earlier: json.loads' ValueError is malformed_json); kept as a guard."""
    row = ingest_one_poison_line(spark, work, lake, poison)
    assert row["reason"] == "malformed_json" and "4300" in row["detail"]


@pytest.mark.parametrize("ts", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:30:00-01:00"])
def test_timestamp_moved_out_of_years_1_to_9999_by_its_offset_is_bad_timestamp(
    ts: str, spark: Any, work: FlywheelConfig, lake: Lake
) -> None:
    """Failed before: converting to UTC raised OverflowError, which the per-line guard (Rejected only) let through,
    and the batch failed with a long traceback, on every re-run."""
    row = ingest_one_poison_line(spark, work, lake, line(99, ts=ts))
    assert row["reason"] == "bad_timestamp" and row["detail"].startswith("ts: ")


@pytest.mark.parametrize(
    ("poison", "field"),
    [
        (line(99)[:-1].replace(b'"e99"', b'"e\\ud800"') + b"}", "event_id"),
        (line(99, text="x")[:-1].replace(b'"x"', b'"\\udfff x"') + b"}", "text"),
        (line(99, hashtags=["x"])[:-1].replace(b'"x"', b'"\\ud83d"') + b"}", "hashtags"),
        (line(99)[:-1] + b', "\\ud800": "v"}', "extras"),
        (line(99)[:-1] + b', "k": ["\\udc00"]}', "extras"),
    ],
    ids=["event_id", "text", "hashtags", "extra-key", "extra-value"],
)
def test_lone_surrogate_escape_is_unrepresentable(
    poison: bytes, field: str, spark: Any, work: FlywheelConfig, lake: Lake
) -> None:
    """Failed before: ``"\\ud800"`` decodes to a string UTF-8 cannot hold, and building the Arrow batch (outside
    the per-line guard) raised UnicodeEncodeError for the whole task."""
    row = ingest_one_poison_line(spark, work, lake, poison)
    assert row["reason"] == "unrepresentable" and row["detail"].split(":")[0] == field


def test_a_valid_surrogate_pair_is_kept(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """The check rejects lone surrogates only: an escaped pair is one code point (here an emoji) and lands."""
    write_landing(work, "part-0.jsonl", [line(0, text="\U0001f600 ok")])  # json.dumps escapes it as a pair
    assert run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy).rows_new == 1
    assert lake.read_arrow("bronze.events").column("text").to_pylist() == ["\U0001f600 ok"]


BAD_NAMES = {
    b"a\nb.jsonl": "events/a\\nb.jsonl",
    b"a\tb.jsonl": "events/a\\tb.jsonl",
    b"a\rb.jsonl": "events/a\\rb.jsonl",
    b"a\x01b.jsonl": "events/a\\u0001b.jsonl",
    b"a\xffb.jsonl": "events/a\\xffb.jsonl",
    b"zo\xc3\xab\xe9.jsonl": "events/zo\u00eb\\xe9.jsonl",
    b".hidden.jsonl": "events/.hidden.jsonl",
    b"_underscore.jsonl": "events/_underscore.jsonl",
}


@pytest.mark.parametrize("name", list(BAD_NAMES), ids=repr)
def test_bad_file_name_is_one_quarantine_and_ledger_entry(
    name: bytes, spark: Any, work: FlywheelConfig, lake: Lake
) -> None:
    """Failed before: a control character in the name failed the batch inside the engine (its path parser refuses
    it), a byte that is not UTF-8 raised UnicodeEncodeError, and a name starting with '.' or '_' was skipped by
    the engine but recorded in the ledger as taken, its lines silently lost."""
    write_landing(work, "good.jsonl", GOOD)
    write_landing(work, name, [line(i) for i in range(100, 103)])
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert (out.rows_in, out.rows_new, out.rows_quarantined, out.files) == (11, 10, 1, 2)
    assert out.reconciled and out.quarantined_by_reason == {"bad_file_name": 1}
    (row,) = lake.read_arrow("bronze.quarantine").to_pylist()
    escaped = BAD_NAMES[name]
    assert (row["source_file"], row["line_no"], row["raw"]) == (escaped, 0, b"events/" + name)
    assert "rename it" in row["detail"] and "\n" not in row["detail"]
    ledger = {r["path"]: r for r in lake.read_arrow("bronze.ingested_files").to_pylist()}
    assert ledger["events/good.jsonl"]["status"] == "taken"
    assert ledger[escaped]["status"] == "rejected" and ledger[escaped]["rows"] == 1
    assert (
        run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy).files == 0
    )  # recorded: not taken again on every run


def test_link_to_a_hidden_name_is_a_bad_name(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Failed before: the engine reads a local file by its resolved path, so a link whose target starts with '_'
    was skipped by the engine and recorded as taken, its lines lost."""
    write_landing(work, "good.jsonl", GOOD)
    target = work.landing_dir / "_spool.jsonl"  # inside the landing folder, outside events/
    target.write_bytes(b"\n".join(line(i) for i in range(100, 103)) + b"\n")
    (work.landing_dir / "events" / "link.jsonl").symlink_to(target)
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert (out.rows_in, out.rows_new, out.quarantined_by_reason) == (11, 10, {"bad_file_name": 1})
    (row,) = lake.read_arrow("bronze.quarantine").to_pylist()
    assert row["source_file"] == "events/link.jsonl" and "_spool.jsonl has a leading '.' or '_'" in row["detail"]


def test_a_link_out_of_the_landing_folder_is_never_read(
    spark: Any, work: FlywheelConfig, lake: Lake, tmp_path: Path
) -> None:
    """#16 item 9: a symlink to /etc/passwd put the file's lines into bronze.quarantine.raw."""
    secret = tmp_path / "outside" / "secret.jsonl"
    secret.parent.mkdir()
    secret.write_bytes(b"root:x:0:0:SECRET-CONTENT:/root:/bin/bash\n" + line(500) + b"\n")
    write_landing(work, "good.jsonl", GOOD)
    (work.landing_dir / "events" / "passwd.jsonl").symlink_to(secret)
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert (out.rows_new, out.quarantined_by_reason) == (10, {"bad_file_name": 1})
    (row,) = lake.read_arrow("bronze.quarantine").to_pylist()
    assert row["raw"] == b"events/passwd.jsonl" and "links out of the landing folder" in row["detail"]
    from tests.privacy.scan import file_texts

    stored = b"".join(b for f in Path(lake.root).rglob("*") if f.is_file() for b in file_texts(f))
    assert b"SECRET-CONTENT" not in stored and b"e500" not in stored


def test_a_byte_order_mark_is_not_part_of_line_one(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """#16 item 9: a UTF-8 BOM sent line 1 to quarantine."""
    write_landing(work, "bom.jsonl", [b"\xef\xbb\xbf" + GOOD[0], *GOOD[1:]])
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert (out.rows_new, out.rows_quarantined) == (10, 0)


def test_files_ingest_does_not_take_are_named_in_a_warning(
    spark: Any, work: FlywheelConfig, lake: Lake, caplog: pytest.LogCaptureFixture
) -> None:
    """#16 item 9: ``*.jsonl.gz`` files were skipped without a word."""
    import gzip

    write_landing(work, "good.jsonl", GOOD)
    (work.landing_dir / "events" / "day2.jsonl.gz").write_bytes(gzip.compress(b"\n".join(GOOD)))
    with caplog.at_level("WARNING", logger="socialflywheel.ingest.landing"):
        out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert out.rows_new == 10
    (warning,) = [r.getMessage() for r in caplog.records if "not taken" in r.getMessage()]
    assert "events/day2.jsonl.gz" in warning and "decompress" in warning


@pytest.mark.parametrize("name", ["a%20b.jsonl", "a%b.jsonl", "a#b.jsonl", "a?b.jsonl", "zo\u00eb b.jsonl"])
def test_names_with_url_characters_are_taken(name: str, spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Failed before for ``%20``, ``#`` and ``?`` (the other two passed): the engine gives the path decoded, the
    parse step decoded it again (``%20``) or cut it at ``#``/``?`` as a URL fragment or query, and the task died
    on a KeyError."""
    write_landing(work, "good.jsonl", GOOD)
    write_landing(work, name, [line(i) for i in range(100, 103)])
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert (out.rows_in, out.rows_new, out.files) == (13, 13, 2)
    assert {r["path"] for r in lake.read_arrow("bronze.ingested_files").to_pylist()} == {
        "events/good.jsonl",
        f"events/{name}",
    }


def test_batches_are_bounded_by_lines(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Failed before: batches were bounded by bytes only (there was no line bound to set), so a file of many
    short lines was one batch whatever its line count. A file over the bound is taken in parts, and recorded
    in the ledger once, with all its rows, by the batch of its last part."""
    work = work.model_copy(update={"ingest": work.ingest.model_copy(update={"max_batch_lines": 10})})
    write_landing(work, "a.jsonl", [line(i) for i in range(25)])
    write_landing(work, "b.jsonl", [line(i) for i in range(100, 104)])
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert (out.batches, out.files, out.rows_in, out.rows_new) == (3, 2, 29, 29)
    batches = sorted(lake.read_arrow("bronze.batches").to_pylist(), key=lambda b: b["started_at"])
    assert [b["rows_in"] for b in batches] == [10, 10, 9] and all(b["reconciled"] for b in batches)
    assert [b["files"] for b in batches] == [0, 0, 2]
    ledger = {r["path"]: r["rows"] for r in lake.read_arrow("bronze.ingested_files").to_pylist()}
    assert ledger == {"events/a.jsonl": 25, "events/b.jsonl": 4}
    assert run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy).files == 0


def peak_rss_during(fn: Any) -> int:
    """The peak resident memory (bytes) of this process over its baseline while ``fn()`` runs (Sail runs here)."""
    me = psutil.Process()
    base = peak = me.memory_info().rss
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, me.memory_info().rss)
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        fn()
    finally:
        done.set()
        watcher.join()
    return peak - base


def test_memory_does_not_grow_per_short_line(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Failed before: the parse deduplicated parsed lines (dropDuplicates on file and line), which held ~7 KB per
    line: 300,000 two-byte junk lines (600 KB) took ~2 GB over the baseline. Now ~0.2 GB."""
    write_landing(work, "junk.jsonl", [b"x"] * 300_000)
    results: list[IngestResult] = []
    grown = peak_rss_during(
        lambda: results.append(run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy))
    )
    assert results[0].rows_quarantined == 300_000 and results[0].reconciled
    assert grown < 700 * 2**20, f"{grown / 2**20:.0f} MB over the baseline"


def test_a_failure_outside_the_line_guard_is_one_line_naming_file_and_line(
    spark: Any, work: FlywheelConfig, lake: Lake, monkeypatch: Any
) -> None:
    """Failed before: an error in a parse task reached the user as the engine's error with the task's traceback
    (tens of lines), naming neither file nor line. Here the file reader fails after its first line."""
    from socialflywheel.ingest import lines
    from socialflywheel.ingest.lines import LandingParseError

    def failing_reader(*_: Any, **__: Any) -> Any:
        yield 1, GOOD[0], None
        raise MemoryError("simulated\nover two lines")

    monkeypatch.setattr(lines, "_records", failing_reader)
    write_landing(work, "part-7.jsonl", GOOD)
    with pytest.raises(LandingParseError) as err:
        run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    message = str(err.value)
    assert "\n" not in message and len(message) < 300, message
    assert "landing file events/part-7.jsonl: reading failed after line 1: MemoryError" in message
    assert not lake.exists("bronze.events") and not lake.exists("bronze.ingested_files")


def test_poison_lines_and_a_bad_name_end_to_end(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Every poison line of this issue in one file, next to a badly named file and a good one: one batch,
    reconciled, the good rows in bronze.events, each poison line quarantined with its reason, one entry for
    the bad name. Failed before on the first poison line it met."""
    poison = {
        b'{"event_id": ' + b"1" * 5000 + b"}": "malformed_json",
        line(900, ts="0001-01-01T00:30:00+01:00"): "bad_timestamp",
        line(901)[:-1].replace(b'"e901"', b'"\\ud800"') + b"}": "unrepresentable",
        b'{"event_id": "e\x00"}': "malformed_json",
        b"\xff\x00": "invalid_utf8",
        b"[" * 5000 + b"]" * 5000: "malformed_json",
        line(902, dwell_ms=2**63): "wrong_type",
        line(903, ts=1e300): "bad_timestamp",
    }
    write_landing(work, "day/part-0.jsonl", [*GOOD[:4], *poison, *GOOD[4:]])
    write_landing(work, b"day/part-\n1.jsonl", [line(i) for i in range(200, 210)])
    write_landing(work, "day/part-2.jsonl", [line(i) for i in range(300, 305)])
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert out.reconciled and out.batches == 1 and out.files == 3
    assert out.rows_in == 10 + len(poison) + 1 + 5 == out.rows_new + out.rows_quarantined
    assert out.rows_new == 15
    events = lake.read_arrow("bronze.events", columns=["event_id"]).column("event_id").to_pylist()
    assert sorted(events) == sorted([f"e{i}" for i in range(10)] + [f"e{i}" for i in range(300, 305)])
    quarantine = lake.read_arrow("bronze.quarantine").to_pylist()
    assert {q["raw"]: q["reason"] for q in quarantine if q["line_no"]} == poison
    (entry,) = [q for q in quarantine if q["line_no"] == 0]
    assert (entry["reason"], entry["source_file"]) == ("bad_file_name", "events/day/part-\\n1.jsonl")
    assert entry["raw"] == b"events/day/part-\n1.jsonl"


# Units of the pieces above (no engine) -------------------------------------------------------------------------

LIMITS = Limits(max_ts=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))


def test_arrow_conversion_failure_quarantines_only_the_rows_at_fault() -> None:
    """The last line of defence: values the parser let through but Arrow refuses (planted here) make their own
    rows ``unrepresentable``, keeping line, raw bytes and place; the other rows convert unchanged."""
    (cols,) = parse_content(b"\n".join(GOOD[:4]), rel="f", sha="0", fmt="json", limits=LIMITS, mapping={})
    cols["event_id"][1] = "e\ud800"
    cols["dwell_ms"][2] = 2**70
    batch = to_record_batch(cols)
    assert batch.column("status").to_pylist() == [None, "unrepresentable", "unrepresentable", None]
    assert batch.column("event_id").to_pylist() == ["e0", None, None, "e3"]
    assert batch.column("line_no").to_pylist() == [1, 2, 3, 4] and batch.column("raw").to_pylist() == GOOD[:4]
    assert "UnicodeEncodeError" in batch.column("detail")[1].as_py()


def test_nesting_too_deep_to_store_is_unrepresentable() -> None:
    """JSON nested just within the decoder's depth can be too deep to encode again for ``extras`` deeper in the
    stack (as inside a parse task): that line is rejected, not the task failed."""
    record = {**event(1), "deep": json.loads("[" * 900 + "]" * 900)}

    def at_depth(n: int) -> None:
        if n:
            at_depth(n - 1)
        else:
            validate(record, LIMITS)

    with pytest.raises(Rejected, match="unrepresentable: extras: nested too deep"):
        at_depth(150)


def test_damaged_parquet_file_is_one_unreadable_row() -> None:
    (cols,) = parse_content(b"PAR1 not really", rel="x.parquet", sha="0", fmt="parquet", limits=LIMITS, mapping={})
    assert (cols["status"], cols["line_no"]) == (["unreadable_file"], [0])
    assert cols["detail"][0].startswith("not readable as Parquet: ")


def test_parquet_value_python_cannot_hold_is_one_unrepresentable_row() -> None:
    """A Parquet timestamp past year 9999 made the whole file's rows fail to convert (a task error); now only its
    row is rejected, the others of the file are taken."""
    when = pa.array([1791000000, 400_000_000_000, 1791000001], pa.timestamp("s", tz="UTC"))
    rows = pa.table({"event_id": ["a", "b", "c"], "event_type": ["search"] * 3, "user_id": ["u"] * 3, "ts": when})
    sink = io.BytesIO()
    pq.write_table(rows, sink)
    (cols,) = parse_content(sink.getvalue(), rel="x.parquet", sha="0", fmt="parquet", limits=LIMITS, mapping={})
    assert cols["status"] == [None, "unrepresentable", None] and cols["line_no"] == [1, 2, 3]
    assert cols["detail"][1] == "ts: 14645-06-30 15:06:40.000Z is out of range"
    assert json.loads(cols["raw"][1])["event_id"] == "b"


def test_chunks_are_bounded_by_rows_and_bytes() -> None:
    content = b"\n".join([b"x" * 1000] * 50)
    by_rows = list(parse_content(content, rel="f", sha="0", fmt="json", limits=LIMITS, mapping={}, chunk=20))
    assert [len(c["line_no"]) for c in by_rows] == [20, 20, 10]
    by_bytes = list(parse_content(content, rel="f", sha="0", fmt="json", limits=LIMITS, mapping={}, chunk_bytes=5000))
    assert [len(c["line_no"]) for c in by_bytes] == [5] * 10
    part = list(parse_content(content, rel="f", sha="0", fmt="json", limits=LIMITS, mapping={}, part=(11, 13)))
    assert part[0]["line_no"] == [11, 12, 13]


def test_split_batches_bounds_files_bytes_and_lines() -> None:
    def f(name: str, lines: int, size: int = 10) -> LandingFile:
        return LandingFile(name, f"file:///{name}", size, name, lines)

    groups = split_batches(
        [f("a", 4), f("b", 25, size=250), f("c", 3), f("d", 3, size=500)], max_files=3, max_bytes=400, max_lines=10
    )
    assert [[(g.rel, g.part) for g in group] for group in groups] == [
        [("a", None)],
        [("b", (1, 10))],
        [("b", (11, 20))],
        [("b", (21, 25)), ("c", None)],
        [("d", None)],  # over the byte bound alone: a batch of its own
    ]
    assert [g.completes for group in groups for g in group] == [True, False, False, True, True, True]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("events/ok.jsonl", None),
        ("events/zo\u00eb b%20#?.jsonl", None),
        ("events/_dir/ok.jsonl", None),
        ("events/a\nb.jsonl", "control character"),
        ("events/a\x85b.jsonl", "control character"),
        ("events/a\udcffb.jsonl", "not UTF-8"),
        ("events/.x.jsonl", "leading '.' or '_'"),
    ],
)
def test_name_problem_and_escape(name: str, problem: str | None) -> None:
    found = name_problem(name)
    assert found is None if problem is None else problem in (found or "")
    escaped = escape_name(name)
    assert escaped.encode("utf-8") and not any(c in escaped for c in "\n\r\t\x85")
    assert (escaped == name) == (problem is None or problem.startswith("leading"))


def test_a_fifo_in_the_landing_folder_fails_cleanly_instead_of_hanging(work: FlywheelConfig) -> None:
    """Landing files are now fingerprinted with Python's own calls (they take any name): a named pipe must still
    be refused up front, not opened (which would wait for a writer forever)."""
    write_landing(work, "good.jsonl", GOOD)
    os.mkfifo(work.landing_dir / "events" / "pipe.jsonl")
    with pytest.raises(UnreadableLandingFile, match=r"events/pipe\.jsonl cannot be read \(Not a regular file\)"):
        discover(work.landing_uri, "json")

"""#16 item 3: an erasure stays erased, whatever the ids look like and however the data comes back.

Before: quarantined lines whose id the JSON escaped (``a"b``, ``x\\y``, ``zo\\u00eb``) survived erasure; an id with
a trailing space was trimmed, reported unknown, and its rows stayed; a landing file delivered again under a new
name brought an erased person's events back into bronze and silver.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintain import run_maintain
from socialflywheel.privacy import suppression
from socialflywheel.privacy._udfs import json_spellings, line_mentions
from socialflywheel.privacy.erase import run_erase
from socialflywheel.privacy.pseudonymize import pseudonym
from socialflywheel.tracking import Tracking
from tests.privacy.scan import find_ids, id_patterns

# People whose ids a careless system normalizes, trims or matches only in one JSON spelling.
TRICKY = ['a"b', "x\\y", "zoë", "bob ", "ünï\tcode", "汉字"]
KEPT = ["bob", "zoe", "ab"]  # near misses that must keep every row


def _event(i: int, user: str, target: str | None = None) -> dict[str, Any]:
    e: dict[str, Any] = {
        "event_id": f"e{i}",
        "event_type": "follow" if target else "view",
        "user_id": user,
        "ts": f"2026-10-0{1 + i % 5}T10:00:00Z",
    }
    if target:
        e["target_user_id"] = target
    else:
        e.update(post_id=f"p{i % 7}", dwell_ms=1000 + i)
    return e


def _landing_lines() -> list[bytes]:
    """Valid events (both JSON spellings), follows naming people as targets, and malformed lines naming them."""
    lines, i = [], 0
    for person in TRICKY + KEPT:
        for ascii_only in (True, False):
            lines.append(json.dumps(_event(i, person), ensure_ascii=ascii_only).encode())
            i += 1
        lines.append(json.dumps(_event(i, KEPT[0] if person != KEPT[0] else KEPT[1], target=person)).encode())
        i += 1
        bad = _event(i, person)
        bad["dwell_ms"] = "not a number"  # quarantined as wrong_type, its raw bytes kept
        lines.append(json.dumps(bad, ensure_ascii=True).encode())
        i += 1
    return lines


def _write(cfg: FlywheelConfig, name: str, lines: list[bytes]) -> None:
    path = cfg.landing_dir / "events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")


def _ingest(spark: Any, cfg: FlywheelConfig, lake: Lake) -> Any:
    out = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    run_conform(spark, lake, cfg.privacy)
    return out


def _people(lake: Lake, name: str, columns: tuple[str, ...]) -> set[str]:
    if not lake.exists(name):
        return set()
    data = lake.read_arrow(name, columns=list(columns))
    return {v for c in columns for v in data.column(c).to_pylist() if v is not None}


def test_erasure_stays_erased(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Mutations tried: matching quarantine on ``"id"`` bytes only (the escaped spellings survive), trimming ids
    (``bob `` is reported unknown and stays), and ingest without the suppression list (the re-delivered file brings
    every erased person back): each fails here."""
    lines = _landing_lines()
    _write(work, "day1.jsonl", lines)
    first = _ingest(spark, work, lake)
    assert first.reconciled and first.rows_quarantined == len(TRICKY + KEPT)
    key = work.privacy.hmac_key()
    erased = run_erase(
        spark, lake, work.privacy, tracking=Tracking.from_config(work), work=work.work_path, user_ids=TRICKY
    )
    assert erased.people == erased.people_found == len(TRICKY)
    assert _people(lake, "bronze.events", ("user_id", "target_user_id")) == set(KEPT)
    pseudo_left = _people(lake, "silver.events", ("user_id", "target_user_id"))
    assert pseudo_left == {pseudonym(k, key) for k in KEPT}
    quarantined = [json.loads(r) for r in lake.read_arrow("bronze.quarantine").column("raw").to_pylist()]
    assert sorted(q["user_id"] for q in quarantined) == sorted(KEPT)

    # The same lines again, under a new name (a re-delivery): nobody erased comes back.
    _write(work, "day1-redelivered.jsonl", lines)
    again = _ingest(spark, work, lake)
    assert again.reconciled and again.rows_new == 0
    assert again.quarantined_by_reason[suppression.REASON] == len(lines) - 4 * len(KEPT)
    assert _people(lake, "bronze.events", ("user_id", "target_user_id")) == set(KEPT)
    assert _people(lake, "silver.events", ("user_id", "target_user_id")) == pseudo_left
    blanked = [r for r in lake.read_arrow("bronze.quarantine").to_pylist() if r["reason"] == suppression.REASON]
    assert blanked and all(r["raw"] == b"" and r["source_file"] == "events/day1-redelivered.jsonl" for r in blanked)

    # New events of an erased person (a new event id, a new file) are kept out as well.
    _write(work, "day2.jsonl", [json.dumps(_event(999, TRICKY[0])).encode(), json.dumps(_event(998, "bob")).encode()])
    third = _ingest(spark, work, lake)
    assert (third.rows_new, third.quarantined_by_reason) == (1, {suppression.REASON: 1})

    # After maintain, no byte of a raw id or a pseudonym of theirs is left under the lake (the list holds tokens).
    work.maintain.vacuum_retention_hours = 0
    work.maintain.log_retention_hours = 0
    run_maintain(spark, lake, work.maintain, retention=work.privacy.retention_days)
    patterns = id_patterns([t for t in TRICKY if t.strip() == t and '"' not in t], [pseudonym(t, key) for t in TRICKY])
    assert find_ids(Path(lake.root), patterns) == {}
    assert not (Path(lake.root) / "_staging").exists()


def test_erase_refuses_a_damaged_lake_before_deleting_anything(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """A lost commit in one table: erase stops with one line naming it, and no other table lost a row."""
    _write(work, "day1.jsonl", _landing_lines())
    _ingest(spark, work, lake)
    before = lake.read_arrow("bronze.events").num_rows
    first_commit = Path(lake.path("silver.events")) / "_delta_log" / f"{0:020d}.json"
    first_commit.unlink()  # the table's schema and protocol were in it
    try:
        run_erase(spark, lake, work.privacy, tracking=Tracking.from_config(work), work=work.work_path, user_ids=["bob"])
    except ValueError as exc:
        message = str(exc)
    else:
        message = ""
    assert "silver.events cannot be read" in message and "nothing was erased" in message
    assert lake.read_arrow("bronze.events").num_rows == before


ids = st.text(min_size=1, max_size=12)


@settings(max_examples=400, deadline=None)
@given(person=ids, other=ids, ascii_only=st.booleans(), where=st.sampled_from(["user_id", "target_user_id", "nested"]))
def test_a_line_is_matched_on_the_decoded_id_whatever_its_spelling(
    person: str, other: str, ascii_only: bool, where: str
) -> None:
    """Property: a line naming ``person`` in any JSON spelling is found; a line naming only ``other`` is not."""
    record: dict[str, Any] = {"event_id": "e1", "user_id": other}
    if where == "nested":
        record["extras"] = {"quoted": [person]}
    else:
        record[where] = person
    try:
        raw = json.dumps(record, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only the ASCII spelling is valid UTF-8
        raw = json.dumps(record, ensure_ascii=True).encode()
    assert line_mentions(raw, {person}, json_spellings([person]))
    if other != person:
        assert not line_mentions(json.dumps({"event_id": "e2", "user_id": other}).encode(), {person}, [])
    assert line_mentions(raw[:-1], {person}, json_spellings([person]))  # truncated: found in its bytes


def test_conform_drops_suppressed_people_even_when_no_row_is_left(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """Rows already in bronze of people put on the list later never reach silver; a batch left with no row at all
    is conformed and recorded (its staging folder then holds no file to read a schema from)."""
    _write(work, "day1.jsonl", _landing_lines())
    run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    key = work.privacy.hmac_key()
    people = _people(lake, "bronze.events", ("user_id", "target_user_id"))
    suppression.add(lake, [pseudonym(p, key) for p in people], key=key, erasure_id="test")
    out = run_conform(spark, lake, work.privacy)
    assert (out.batches, out.rows_in, out.rows_out, out.silver_events) == (1, 0, 0, 0)
    (done,) = lake.read_arrow("silver.conformed_batches").to_pylist()
    assert done["rows"] == 0


def test_conformed_batches_record_their_rows(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    """#16 item 9: silver.conformed_batches.rows was always 0."""
    _write(work, "day1.jsonl", _landing_lines())
    ingested = _ingest(spark, work, lake)
    (done,) = lake.read_arrow("silver.conformed_batches").to_pylist()
    assert done["rows"] == ingested.rows_new == lake.read_arrow("silver.events").num_rows > 0


def test_an_unreachable_registry_costs_seconds_and_says_so(caplog: Any) -> None:
    """Seen on the cluster suite: erase waited ~4 minutes in MLflow's HTTP retries for a registry that was down.

    Mutation tried: without ``brief_requests`` this takes over 200 s (7 retries, backoff up to 120 s).
    """
    import socket
    import time

    from socialflywheel.privacy.erase import mark_models

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tracking = Tracking(f"http://127.0.0.1:{port}", None, "exp", "model", "serving")
    started = time.monotonic()
    with caplog.at_level("WARNING", logger="socialflywheel.privacy.erase"):
        marked = mark_models(tracking, touched=True, erasure_tables=["gold.training_examples"])
    assert marked == 0 and time.monotonic() - started < 60
    assert any("run the same erasure again" in r.getMessage() for r in caplog.records)

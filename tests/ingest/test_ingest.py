"""Ingest and conform on hand-made landing files: reconciliation, quarantine bytes, idempotency, contracts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.ingest.schema_change import SchemaChangeError
from socialflywheel.lake.io import Lake
from socialflywheel.privacy.pseudonymize import pseudonym


def event(i: int, **extra: Any) -> dict[str, Any]:
    base = {
        "event_id": f"e{i}",
        "event_type": "view",
        "user_id": f"u{i % 4}",
        "post_id": f"p{i % 3}",
        "ts": "2026-10-02T10:00:00Z",
        "dwell_ms": 1000 + i,
        "country": "DE",
        "device": "ios",
    }
    base.update(extra)
    return base


def write_landing(cfg: FlywheelConfig, name: str, lines: list[bytes]) -> Path:
    path = cfg.landing_dir / "events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


GOOD = [json.dumps(event(i)).encode() for i in range(25)]
POST = json.dumps(
    {
        "event_id": "e100",
        "event_type": "post",
        "user_id": "u1",
        "post_id": "p0",
        "ts": "2026-10-01T08:00:00Z",
        "text": "hello",
        "hashtags": ["a", "b"],
        "category": "sports",
        "brand_new_field": 7,
    }
).encode()
FOLLOWS = [
    json.dumps(
        {
            "event_id": "f1",
            "event_type": "follow",
            "user_id": "u1",
            "target_user_id": "u2",
            "ts": "2026-10-01T01:00:00Z",
        }
    ).encode(),
    json.dumps(
        {
            "event_id": "f2",
            "event_type": "follow",
            "user_id": "u1",
            "target_user_id": "u3",
            "ts": "2026-10-01T02:00:00Z",
        }
    ).encode(),
    json.dumps(
        {
            "event_id": "f3",
            "event_type": "unfollow",
            "user_id": "u1",
            "target_user_id": "u2",
            "ts": "2026-10-01T05:00:00Z",
        }
    ).encode(),
]
BAD = {
    b'{"event_id": "x1", "event_type": ': "malformed_json",
    json.dumps({"event_id": "x2", "event_type": "view", "ts": "2026-10-02T10:00:00Z"}).encode(): "missing_field",
    json.dumps({**event(0), "event_id": "x3", "dwell_ms": "long"}).encode(): "wrong_type",
    json.dumps({**event(0), "event_id": "x4", "ts": "1970-01-01T00:00:00Z"}).encode(): "bad_timestamp",
    json.dumps({**event(0), "event_id": "x5", "event_type": "teleport"}).encode(): "unknown_event_type",
    b'{"event_id": "x6", "user_id": "\xff\xfe"}': "invalid_utf8",
    json.dumps({**event(0), "event_id": "x7", "text": "z" * 5000}).encode(): "oversized_text",
    GOOD[3]: "duplicate",
}


def test_batch_reconciles_and_quarantine_keeps_bytes(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    lines = [*GOOD[:10], *BAD.keys(), *GOOD[10:], POST, *FOLLOWS]
    write_landing(work, "date=2026-10-02/part-00000.jsonl", lines)
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert out.rows_in == len(lines) == out.rows_new + out.rows_present + out.rows_quarantined
    assert out.rows_new == 25 + 1 + 3 and out.rows_quarantined == len(BAD)
    quarantine = lake.read_arrow("bronze.quarantine").to_pylist()
    assert {q["raw"]: q["reason"] for q in quarantine} == BAD  # byte-identical, right reason
    assert all(q["source_file"] == "events/date=2026-10-02/part-00000.jsonl" for q in quarantine)
    bronze = lake.read_arrow("bronze.events").to_pylist()
    assert len({r["event_id"] for r in bronze}) == len(bronze) == 29
    post = next(r for r in bronze if r["event_id"] == "e100")
    assert dict(post["extras"]) == {"category": "sports", "brand_new_field": "7"}
    assert str(post["event_date"]) == "2026-10-01"  # an event lands in its own date partition
    batch = lake.read_arrow("bronze.batches").to_pylist()[0]
    assert batch["reconciled"] and dict(batch["quarantined_by_reason"])["duplicate"] == 1


def test_rerun_replay_and_changed_file(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    first = write_landing(work, "date=2026-10-02/part-00000.jsonl", GOOD)
    run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    version = lake.version("bronze.events")
    again = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert again.files == 0 and lake.version("bronze.events") == version  # no data commit at all
    shutil.copy(first, first.with_name("part-00001-replay.jsonl"))
    replay = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert replay.rows_present == 25 and replay.rows_new == 0
    assert lake.version("bronze.events") == version
    write_landing(work, "date=2026-10-02/part-00000.jsonl", [*GOOD, json.dumps(event(99)).encode()])
    changed = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert changed.changed_files == 1 and changed.rows_new == 1 and changed.rows_present == 25
    ledger = lake.read_arrow("bronze.ingested_files").to_pylist()
    assert sorted(r["status"] for r in ledger) == ["changed", "taken", "taken"]
    assert lake.read(spark, "bronze.events").count() == 26


def test_breaking_change_fails_batch_naming_field(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    write_landing(work, "date=2026-10-02/part-00000.jsonl", GOOD)
    run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    renamed = [
        json.dumps({("actor" if k == "user_id" else k): v for k, v in event(200 + i).items()}).encode()
        for i in range(30)
    ]
    write_landing(work, "date=2026-10-03/part-00000.jsonl", renamed)
    before = {n: lake.version(n) for n in ("bronze.events", "bronze.quarantine", "bronze.ingested_files")}
    with pytest.raises(SchemaChangeError, match=r"field 'user_id' is missing field in 30 of 30 rows"):
        run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert {n: lake.version(n) for n in before} == before  # nothing written
    work.ingest.field_mapping = {"actor": "user_id"}
    assert run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy).rows_new == 30


def test_conform_pseudonymizes_and_derives(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    write_landing(work, "date=2026-10-02/part-00000.jsonl", [*GOOD, POST, *FOLLOWS])
    run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    out = run_conform(spark, lake, work.privacy)
    assert out.silver_events == 29 and out.rows_out == 29
    key = work.privacy.hmac_key()
    silver = lake.read_arrow("silver.events").to_pylist()
    raw_ids = {f"u{i}" for i in range(5)}
    assert not raw_ids & {r["user_id"] for r in silver}
    assert {r["user_id"] for r in silver} <= {pseudonym(u, key) for u in raw_ids}
    follows = lake.read_arrow("silver.follows").to_pylist()
    assert [(f["follower_id"], f["followee_id"]) for f in follows] == [(pseudonym("u1", key), pseudonym("u3", key))]
    posts = lake.read_arrow("silver.posts").to_pylist()
    assert posts[0]["category"] == "sports" and posts[0]["author_id"] == pseudonym("u1", key)
    assert run_conform(spark, lake, work.privacy).batches == 0  # incremental: nothing left to do


def test_large_landing_is_taken_in_bounded_batches(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    for day in range(1, 5):
        write_landing(
            work,
            f"date=2026-10-0{day}/part-00000.jsonl",
            [json.dumps(event(day * 100 + i)).encode() for i in range(30)],
        )
    sizes = sorted(p.stat().st_size for p in (work.landing_dir / "events").rglob("*.jsonl"))
    work.ingest.max_batch_bytes = sizes[0] + sizes[1]  # two files per batch
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert out.batches == 2 and out.files == 4 and out.rows_new == 120 and out.reconciled
    batches = lake.read_arrow("bronze.batches").to_pylist()
    assert len(batches) == 2 and all(b["reconciled"] and b["files"] == 2 for b in batches)

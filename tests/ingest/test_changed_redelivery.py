"""#16 item 9: an event id already in bronze, delivered again by a later file with other content, is quarantined.

Before: a later batch counted any event id already in bronze.events as present and dropped the line, changed or
not, while two versions of one event id inside one batch were quarantined as ``duplicate``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.conftest import make_config

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.ingest.bronze import IngestResult
from socialflywheel.lake.catalog.table import EVENT_FIELDS
from socialflywheel.lake.io import Lake

# Every contract field but the id, with another valid value for it (ts moves by a second, on the same day).
CHANGES: dict[str, Any] = {
    "event_type": "like",
    "user_id": "u9",
    "post_id": "p9",
    "target_user_id": "u8",
    "ts": "2026-10-01T10:00:01Z",
    "dwell_ms": 1201,
    "text": "hello again",
    "hashtags": ["a", "b"],
    "country": "KE",
    "device": "web",
    "campaign_id": "c2",
}
_ids = itertools.count()


def test_every_contract_field_but_the_id_is_changed_somewhere() -> None:
    assert set(CHANGES) == {f.name for f in EVENT_FIELDS} - {"event_id"}


def _event(event_id: str, **changed: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": event_id,
        "event_type": "comment",
        "user_id": "u1",
        "post_id": "p1",
        "target_user_id": "u2",
        "ts": "2026-10-01T10:00:00Z",
        "dwell_ms": 1200,
        "text": "hello",
        "hashtags": ["a"],
        "country": "NG",
        "device": "ios",
        "campaign_id": "c1",
    }
    return {**base, **changed}


def _deliver(spark: Any, cfg: FlywheelConfig, lake: Lake, name: str, events: list[dict[str, Any]]) -> IngestResult:
    path = cfg.landing_dir / "events" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(json.dumps(e).encode() + b"\n" for e in events))
    return run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)


def test_a_changed_redelivery_is_quarantined_an_identical_one_is_present(spark: Any, tmp_path: Path) -> None:
    """One file re-delivers an event unchanged, one with another dwell_ms, and one new event."""
    cfg = make_config(tmp_path / "work")
    lake = Lake.from_config(cfg)
    first = _deliver(spark, cfg, lake, "day1.jsonl", [_event("e-same"), _event("e-changed")])
    run_conform(spark, lake, cfg.privacy)
    assert (first.rows_new, first.rows_present, first.rows_quarantined) == (2, 0, 0)
    changed = _event("e-changed", dwell_ms=99)
    second = _deliver(spark, cfg, lake, "day2.jsonl", [_event("e-same"), changed, _event("e-new")])
    run_conform(spark, lake, cfg.privacy)
    assert (second.rows_in, second.rows_new, second.rows_present, second.rows_quarantined) == (3, 1, 1, 1)
    assert second.reconciled and second.quarantined_by_reason == {"duplicate": 1}
    (row,) = lake.read_arrow("bronze.quarantine").to_pylist()
    assert row["raw"] == json.dumps(changed).encode() and row["reason"] == "duplicate"
    assert (row["source_file"], row["line_no"]) == ("events/day2.jsonl", 2)
    stored = {r["event_id"]: r["dwell_ms"] for r in lake.read_arrow("bronze.events").to_pylist()}
    assert stored == {"e-same": 1200, "e-changed": 1200, "e-new": 1200}
    silver = {r["event_id"]: r["dwell_ms"] for r in lake.read_arrow("silver.events").to_pylist()}
    assert silver == stored
    (batch,) = [b for b in lake.read_arrow("bronze.batches").to_pylist() if b["batch_id"] == second.batch_id]
    assert (batch["rows_present"], batch["rows_quarantined"]) == (1, 1)


@pytest.fixture(scope="module")
def redelivery_lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[FlywheelConfig, Lake]:
    cfg = make_config(tmp_path_factory.mktemp("redelivery") / "work")
    return cfg, Lake.from_config(cfg)


@settings(max_examples=24, deadline=None)
@given(field=st.sampled_from([None, *sorted(CHANGES)]))
def test_any_changed_contract_field_quarantines_no_change_is_present(
    spark: Any, redelivery_lake: tuple[FlywheelConfig, Lake], field: str | None
) -> None:
    """Property: a re-delivery with one contract field changed is quarantined as ``duplicate``; unchanged, present."""
    cfg, lake = redelivery_lake
    n = next(_ids)
    event_id = f"prop-{n}"
    _deliver(spark, cfg, lake, f"first-{n}.jsonl", [_event(event_id)])
    again = _event(event_id, **({field: CHANGES[field]} if field else {}))
    out = _deliver(spark, cfg, lake, f"again-{n}.jsonl", [again])
    assert out.reconciled and out.rows_new == 0
    if field is None:
        assert (out.rows_present, out.rows_quarantined) == (1, 0)
    else:
        assert (out.rows_present, out.quarantined_by_reason) == (0, {"duplicate": 1}), field

"""End-to-end ingest of generated junk: several batches, nothing crashes, reconciliation holds, no row lost."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.ingest.parse import Limits, Rejected, parse_line
from socialflywheel.lake.catalog import EVENT_TYPES
from socialflywheel.lake.io import Lake

BATCHES = 6


def junk_line(rng: random.Random, i: int, batch: int) -> bytes:
    """A valid event, a mangled one, or plain garbage, in roughly equal shares."""
    event: dict[str, Any] = {
        "event_id": f"j{batch}-{i}",
        "event_type": rng.choice(EVENT_TYPES),
        "user_id": f"u{rng.randrange(50)}",
        "post_id": f"p{rng.randrange(30)}",
        "target_user_id": f"u{rng.randrange(50)}",
        "campaign_id": "c1",
        "ts": f"2026-10-{rng.randrange(1, 28):02d}T{rng.randrange(24):02d}:00:00Z",
    }
    roll = rng.random()
    if roll < 0.4:
        return json.dumps(event).encode()
    if roll < 0.55:
        event[rng.choice(list(event))] = rng.choice([None, 7, 3.5, [], {}, True, "", "x" * 300])
        return json.dumps(event).encode()
    if roll < 0.7:
        raw = json.dumps(event).encode()
        return raw[: rng.randrange(1, len(raw))]
    if roll < 0.8:
        return bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 120))).replace(b"\n", b" ")
    if roll < 0.9:
        return json.dumps(rng.choice([[1, 2], "text", 42, None, {"nested": {"a": [1]}}])).encode()
    return json.dumps({**event, "text": "é" * rng.randrange(10, 3000)}).encode()


@pytest.mark.parametrize("seed", [1, 2])
def test_junk_batches_reconcile(seed: int, spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    rng = random.Random(seed)
    limits = Limits()
    expected_valid: set[str] = set()
    total_in = 0
    for batch in range(BATCHES):
        lines = [junk_line(rng, i, batch) for i in range(400)]
        lines += lines[: rng.randrange(1, 20)]  # repeats inside the batch
        for line in lines:
            try:
                expected_valid.add(parse_line(line, limits)["event_id"])
            except Rejected:
                pass
        path = work.landing_dir / "events" / f"date=2026-10-{batch + 1:02d}" / "junk.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\n".join(lines) + b"\n")
        out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
        assert out.rows_in == len([ln for ln in lines if ln.strip()])
        assert out.rows_in == out.rows_new + out.rows_present + out.rows_quarantined
        total_in += out.rows_in
    run_conform(spark, lake, work.privacy)
    batches = lake.read_arrow("bronze.batches").to_pylist()
    assert len(batches) == BATCHES and all(b["reconciled"] for b in batches)
    assert sum(b["rows_in"] for b in batches) == total_in
    silver = lake.read_arrow("silver.events", columns=["event_id"]).column("event_id").to_pylist()
    assert sorted(silver) == sorted(expected_valid)  # every valid row exactly once, nothing else
    quarantined = lake.read(spark, "bronze.quarantine").count()
    assert quarantined + len(silver) == total_in

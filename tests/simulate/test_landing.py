"""Landing files: byte-identical per seed and size, contract-valid events, corruptions exactly as recorded."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import pyarrow.parquet as pq

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest.parse import Limits, Rejected, parse_line
from socialflywheel.lake.catalog import EVENT_TYPES
from socialflywheel.lake.io import Lake
from socialflywheel.simulate import SimulateResult
from tests.simulate.conftest import TINY, landing_hashes

Sim = Callable[..., tuple[FlywheelConfig, SimulateResult]]


def test_same_seed_and_size_give_identical_bytes(
    tiny: tuple[FlywheelConfig, SimulateResult], simulate_into: Sim
) -> None:
    cfg, summary = tiny
    again, _ = simulate_into(*TINY)
    first = landing_hashes(cfg.landing_dir)
    assert len([p for p in first if p.endswith(".jsonl")]) == summary.files > 8
    assert any(p.endswith(".parquet") for p in first)
    assert landing_hashes(again.landing_dir) == first
    other, _ = simulate_into(*TINY, "simulate.seed=43")
    assert landing_hashes(other.landing_dir) != first


def test_valid_events_follow_the_contract(
    tiny_events: list[dict[str, Any]], tiny: tuple[FlywheelConfig, SimulateResult]
) -> None:
    _, summary = tiny
    limits = Limits()
    for event in tiny_events:
        parse_line(json.dumps(event).encode(), limits)  # raises on any contract break
    assert len(tiny_events) == summary.events == len({e["event_id"] for e in tiny_events})
    assert {e["event_type"] for e in tiny_events} == set(EVENT_TYPES)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", e["ts"]) for e in tiny_events)
    posts = [e for e in tiny_events if e["event_type"] == "post"]
    assert all(e["category"] and isinstance(e["hashtags"], list) for e in posts)
    assert all(t == t.lower() and not t.startswith("#") for e in posts for t in e["hashtags"])


def test_date_folder_is_the_event_date(
    tiny_lines: list[tuple[str, int, bytes]], tiny_events: list[dict[str, Any]]
) -> None:
    by_id = {e["event_id"]: e for e in tiny_events}
    for rel, _, line in tiny_lines[:5000]:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event_id") in by_id and by_id[event["event_id"]] == event:
            assert rel.split("/")[1] == f"date={event['ts'][:10]}"


def test_corruption_counts_equal_bad_records_present(
    tiny_lines: list[tuple[str, int, bytes]], tiny: tuple[FlywheelConfig, SimulateResult]
) -> None:
    cfg, summary = tiny
    recorded = {
        (r["source_file"], r["line_no"]): r["kind"]
        for r in Lake.from_config(cfg).read_arrow("truth.corruptions").to_pylist()
    }
    found: dict[tuple[str, int], str] = {}
    seen: dict[str, set[str]] = {}
    limits = Limits()
    for rel, no, line in tiny_lines:
        try:
            event = parse_line(line, limits)
        except Rejected as exc:
            found[(rel, no)] = exc.reason
            continue
        ids = seen.setdefault(rel, set())
        if event["event_id"] in ids:
            found[(rel, no)] = "duplicate"
        ids.add(event["event_id"])
    assert found == recorded
    assert Counter(recorded.values()) == Counter({k: v for k, v in summary.corruptions.items() if v})
    assert len(set(recorded.values())) == 8  # every kind present at the tiny size


def test_parquet_holds_the_same_valid_events(
    tiny: tuple[FlywheelConfig, SimulateResult], tiny_events: list[dict[str, Any]]
) -> None:
    cfg, _ = tiny
    table = pq.ParquetDataset(cfg.landing_dir / "events_parquet").read(columns=["event_id", "event_type", "user_id"])
    assert sorted(table.column("event_id").to_pylist()) == sorted(e["event_id"] for e in tiny_events)

"""Ingest and conform on the tiny simulation with corruption on, checked against its planted truth."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from tests.conftest import copy_lake

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.ingest.columnar import split_lines
from socialflywheel.lake.io import Lake
from socialflywheel.privacy.pseudonymize import pseudonym

Tiny = tuple[FlywheelConfig, Lake]


def landing_lines(cfg: FlywheelConfig) -> dict[tuple[str, int], bytes]:
    lines = {}
    for path in sorted((cfg.landing_dir / "events").rglob("*.jsonl")):
        rel = str(path.relative_to(cfg.landing_dir))
        for number, line in split_lines(path.read_bytes()):
            lines[(rel, number)] = line
    return lines


def test_every_batch_reconciles_against_the_files_and_the_tables(tiny_lake: Tiny) -> None:
    """Each term of ``rows_in = new + present + quarantined`` is checked against something the ingest code did
    not compute: the non-blank lines on disk (counted here, not by the parser), the rows in bronze.events and in
    bronze.quarantine. The identity alone held by construction (mutation tried: an ingest that drops a line
    before counting it still satisfied the old check; it fails the disk count here)."""
    cfg, lake = tiny_lake
    batches = lake.read_arrow("bronze.batches").to_pylist()
    assert batches
    for b in batches:
        assert b["reconciled"] and b["rows_in"] == b["rows_new"] + b["rows_present"] + b["rows_quarantined"]
    on_disk = sum(
        sum(1 for line in path.read_bytes().split(b"\n") if line.strip())
        for path in (cfg.landing_dir / "events").rglob("*.jsonl")
    )
    assert sum(b["rows_in"] for b in batches) == on_disk > 0
    assert sum(b["rows_quarantined"] for b in batches) == lake.read_arrow("bronze.quarantine").num_rows
    ids = lake.read_arrow("bronze.events", columns=["event_id"]).column("event_id").to_pylist()
    assert sum(b["rows_new"] for b in batches) == len(ids) == len(set(ids))


def test_quarantine_matches_injected_corruptions(tiny_lake: Tiny) -> None:
    cfg, lake = tiny_lake
    injected = lake.read_arrow("truth.corruptions").to_pylist()
    quarantine = lake.read_arrow("bronze.quarantine").to_pylist()
    assert len(injected) > 100
    assert Counter(q["reason"] for q in quarantine) == Counter(c["kind"] for c in injected)
    # same rows, same reasons, and the stored bytes are the input bytes
    assert {(q["source_file"], q["line_no"]): q["reason"] for q in quarantine} == {
        (c["source_file"], c["line_no"]): c["kind"] for c in injected
    }
    lines = landing_lines(cfg)
    assert all(q["raw"] == lines[(q["source_file"], q["line_no"])] for q in quarantine)


def test_no_valid_event_lost_or_duplicated(tiny_lake: Tiny) -> None:
    cfg, lake = tiny_lake
    bad = {(c["source_file"], c["line_no"]) for c in lake.read_arrow("truth.corruptions").to_pylist()}
    valid_ids = [json.loads(line)["event_id"] for key, line in landing_lines(cfg).items() if key not in bad]
    assert len(valid_ids) == len(set(valid_ids))
    silver_ids = lake.read_arrow("silver.events", columns=["event_id"]).column("event_id").to_pylist()
    assert len(silver_ids) == len(set(silver_ids))  # exactly once
    assert set(silver_ids) == set(valid_ids)  # nothing lost, nothing invented


def test_second_ingest_and_replay_add_nothing(tiny_lake: Tiny, spark: Any, tmp_path: Path) -> None:
    cfg, lake = copy_lake(tiny_lake[0], tmp_path / "copy")
    versions = {n: lake.version(n) for n in ("bronze.events", "silver.events", "bronze.quarantine")}
    assert run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy).files == 0
    assert run_conform(spark, lake, cfg.privacy).batches == 0
    assert {n: lake.version(n) for n in versions} == versions  # no data commit
    # replay one day's files under new names: a new batch, every row already present or quarantined
    day = sorted((cfg.landing_dir / "events").iterdir())[3]
    replay = cfg.landing_dir / "events" / "replay" / day.name
    replay.mkdir(parents=True)
    for f in day.glob("*.jsonl"):
        (replay / f.name).write_bytes(f.read_bytes())
    out = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    assert out.rows_new == 0 and out.rows_present > 0
    assert out.rows_in == out.rows_present + out.rows_quarantined
    assert lake.version("bronze.events") == versions["bronze.events"]
    run_conform(spark, lake, cfg.privacy)
    assert lake.read(spark, "silver.events").count() == lake.read(spark, "bronze.events").count()


def test_pseudonyms_hide_raw_ids_and_are_stable(tiny_lake: Tiny) -> None:
    cfg, lake = tiny_lake
    raw_users = set(lake.read_arrow("truth.users", columns=["user_id"]).column("user_id").to_pylist())
    silver = lake.read_arrow("silver.events", columns=["user_id", "target_user_id"]).to_pylist()
    seen = {r["user_id"] for r in silver} | {r["target_user_id"] for r in silver if r["target_user_id"]}
    assert not seen & raw_users
    key = cfg.privacy.hmac_key()
    assert seen <= {pseudonym(u, key) for u in raw_users}  # stable: recomputable with the same key
    assert not seen & {pseudonym(u, b"another-key") for u in raw_users}
    follows = lake.read_arrow("silver.follows").to_pylist()
    assert follows and all(f["follower_id"] != f["followee_id"] for f in follows)

"""Erasure by a stored request: pseudonyms from arrival, the same deletes as by raw ids, nothing left after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintain import run_maintain
from socialflywheel.privacy.erase import run_erase
from socialflywheel.privacy.pseudonymize import pseudonym
from socialflywheel.privacy.requests import file_request
from socialflywheel.tracking import Tracking
from tests.conftest import copy_lake
from tests.privacy.scan import find_ids, id_patterns

Tiny = tuple[FlywheelConfig, Lake]


def _victims(lake: Lake) -> list[str]:
    """Two people of bronze and one a quarantined line names (a lone one if any: it never reached bronze)."""
    in_bronze = sorted(set(lake.read_arrow("bronze.events", columns=["user_id"]).column("user_id").to_pylist()))
    named: set[str] = set()
    for raw in lake.read_arrow("bronze.quarantine", columns=["raw"]).column("raw").to_pylist():
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("user_id"), str) and value["user_id"]:
            named.add(value["user_id"])
    assert named, "the tiny lake's quarantine names nobody: the test would not cover quarantine"
    lone = sorted(named - set(in_bronze)) or sorted(named)
    return [in_bronze[3], in_bronze[-4], lone[0]]


# People only quarantined lines name: one in a line that is JSON but not an event, one in a truncated line (found
# by the string literals in its bytes), both with characters a JSON writer escapes.
QUARANTINED_ONLY = ['zo\u00eb"q', "tab\there"]


def _plant_quarantined(spark: Any, cfg: FlywheelConfig, lake: Lake) -> None:
    from socialflywheel.ingest import run_ingest

    first = json.dumps({"event_id": "e-q1", "event_type": "teleport", "user_id": QUARANTINED_ONLY[0]})
    second = json.dumps({"event_id": "e-q2", "event_type": "view", "user_id": QUARANTINED_ONLY[1], "ts": "2026"})
    folder = Path(cfg.landing_dir) / "events" / "date=2026-10-03"
    (folder / "planted-quarantine.jsonl").write_text(first + "\n" + second[:-12] + "\n")
    result = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    assert result.rows_quarantined == 2, result


def _erase(spark: Any, cfg: FlywheelConfig, lake: Lake, **who: Any) -> Any:
    return run_erase(spark, lake, cfg.privacy, tracking=Tracking.from_config(cfg), work=cfg.work_path, **who)


def test_an_erasure_by_request_deletes_what_one_by_raw_ids_deletes(tiny_lake: Tiny, spark: Any, tmp_path: Path) -> None:
    cfg, lake = copy_lake(tiny_lake[0], tmp_path / "by_request")
    cfg_raw, lake_raw = copy_lake(tiny_lake[0], tmp_path / "by_ids")
    for c, lk in ((cfg, lake), (cfg_raw, lake_raw)):
        _plant_quarantined(spark, c, lk)
    victims = sorted({*_victims(lake), *QUARANTINED_ONLY})
    key = cfg.privacy.hmac_key()

    request_id = file_request(lake, victims, key=key)
    stored = lake.read_arrow("audit.erasure_requests").to_pylist()
    assert [r["status"] for r in stored] == ["pending"]
    assert sorted(stored[0]["pseudonyms"]) == sorted(pseudonym(v, key) for v in victims)
    assert not any(v in repr(stored) for v in victims)  # pseudonymized on arrival

    by_request = _erase(spark, cfg, lake, request_id=request_id)
    by_ids = _erase(spark, cfg_raw, lake_raw, user_ids=victims)
    assert by_request.rows_deleted == by_ids.rows_deleted
    assert by_request.rows_deleted.get("bronze.quarantine", 0) > 0
    assert (by_request.people, by_request.people_found) == (by_ids.people, by_ids.people_found)
    assert by_request.people == len(victims) >= 4 and by_request.people_found >= 2
    assert by_request.rows_deleted["bronze.quarantine"] >= 2

    closed = lake.read_arrow("audit.erasure_requests").to_pylist()[0]
    assert closed["status"] == "done" and closed["pseudonyms"] == [] and closed["erasure_id"] == by_request.erasure_id
    again = _erase(spark, cfg, lake, request_id=request_id)  # a re-run (an orchestrator's retry) deletes nothing
    assert again.erasure_id == by_request.erasure_id and again.rows_out == 0 and "carried out already" in again.note
    with pytest.raises(ValueError, match="no erasure request"):
        _erase(spark, cfg, lake, request_id="er-" + "0" * 32)
    with pytest.raises(ValueError, match="not a request id"):
        _erase(spark, cfg, lake, request_id=victims[0])

    cfg.maintain.vacuum_retention_hours = 0
    cfg.maintain.log_retention_hours = 0
    run_maintain(spark, lake, cfg.maintain, retention=cfg.privacy.retention_days)
    pseudos = [pseudonym(v, key) for v in victims]
    assert find_ids(Path(cfg.lake_root), id_patterns(victims, pseudos)) == {}  # the request's pseudonyms too

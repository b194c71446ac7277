"""GDPR erasure across every table, made physical by maintain with zero retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.lake.maintain import run_maintain
from socialflywheel.privacy import erase_tables
from socialflywheel.privacy.erase import EraseResult, erasure_plan, run_erase
from socialflywheel.privacy.pseudonymize import pseudonym
from socialflywheel.tracking import Tracking
from tests.conftest import copy_lake
from tests.privacy.scan import find_ids, id_patterns

Tiny = tuple[FlywheelConfig, Lake]


@pytest.fixture
def erased_lake(
    tiny_lake: Tiny, spark: Any, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """An erasure of three people on a copy of the tiny lake; by default one MERGE per table.

    ``per_column`` (indirect parameter): one MERGE per matching column, the path of requests with many ids.
    """
    from socialflywheel.graph.job import run_graph

    if getattr(request, "param", "per_table") == "per_column":
        monkeypatch.setattr(erase_tables, "OR_MERGE_MAX_IDS", 0)

    cfg, lake = copy_lake(tiny_lake[0], tmp_path / "copy")
    run_graph(spark, lake, cfg.graph)  # gold tables that hold people too
    users = lake.read_arrow("truth.users", columns=["user_id"]).column("user_id").to_pylist()
    active = lake.read_arrow("bronze.events", columns=["user_id"]).column("user_id").to_pylist()
    victims = sorted({u for u in active if u in set(users)})[:3]
    key = cfg.privacy.hmac_key()
    pseudos = [pseudonym(v, key) for v in victims]
    posts = {r["post_id"] for r in lake.read_arrow("silver.posts").to_pylist() if r["author_id"] in pseudos}
    before = lake.read_arrow("silver.events").to_pylist()
    summary = run_erase(
        spark,
        lake,
        cfg.privacy,
        tracking=Tracking.from_config(cfg),
        work=cfg.work_path,
        user_ids=[*victims, "no-such-person"],
    )
    return {
        "cfg": cfg,
        "lake": lake,
        "victims": victims,
        "pseudos": pseudos,
        "posts": posts,
        "before": before,
        "summary": summary,
    }


@pytest.mark.parametrize("erased_lake", ["per_table", "per_column"], indirect=True)
def test_erase_removes_people_everywhere_and_nothing_else(erased_lake: dict[str, Any], spark: Any) -> None:
    lake, victims, pseudos = (erased_lake[k] for k in ("lake", "victims", "pseudos"))
    summary: EraseResult = erased_lake["summary"]
    assert summary.people == 4 and summary.people_found == 3 and summary.people_unknown == 1
    for table in ("bronze.events", "silver.events", "silver.users", "silver.follows", "gold.graph_centrality"):
        assert summary.rows_deleted.get(table, 0) > 0, table
    # current versions: no row of theirs anywhere
    from socialflywheel.lake.catalog import CATALOG

    for name, table in CATALOG.items():
        if not lake.exists(name):
            continue
        rows = lake.read_arrow(name).to_pylist()
        for column, space in erasure_plan(table):
            ids = {"raw": set(victims), "pseudo": set(pseudos), "post": erased_lake["posts"]}[space]
            values = [v for r in rows for v in (r[column] if isinstance(r[column], list) else [r[column]])]
            assert not set(values) & ids, (name, column)
    # other people's rows are unchanged, byte for byte
    keep = [
        r
        for r in erased_lake["before"]
        if r["user_id"] not in pseudos
        and r["target_user_id"] not in pseudos
        and r["post_id"] not in erased_lake["posts"]
    ]
    after = lake.read_arrow("silver.events").to_pylist()
    key = lambda r: r["event_id"]  # noqa: E731
    assert sorted(after, key=key) == sorted(keep, key=key)
    audit = lake.read_arrow("audit.erasures").to_pylist()[0]
    assert audit["people"] == 4 and not any(v in repr(audit) for v in [*victims, *pseudos])


def test_maintain_makes_erasure_physical(erased_lake: dict[str, Any], spark: Any) -> None:
    cfg, lake, victims, pseudos = (erased_lake[k] for k in ("cfg", "lake", "victims", "pseudos"))
    patterns = id_patterns(victims, pseudos)
    assert find_ids(Path(cfg.lake_root), patterns)  # old versions still hold them before maintain
    cfg.maintain.vacuum_retention_hours = 0
    cfg.maintain.log_retention_hours = 0
    maintained = run_maintain(spark, lake, cfg.maintain, retention=cfg.privacy.retention_days)
    assert maintained.files_vacuumed > 0 and maintained.tables > 0
    assert find_ids(Path(cfg.lake_root), patterns) == {}  # data, log and checkpoints: every byte read
    assert lake.read(spark, "silver.events").count() == len(lake.read_arrow("silver.events"))

"""The daily pipeline submitted to a standalone cluster with spark-submit, lake and landing on S3.

The same landing files go through the embedded default (Sail, local lake: the session's tiny lake) and
through ingest -> conform -> features -> graph on the cluster (delta-spark, hadoop-aws, s3a://); every
silver and gold table must come out the same, row for row.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake
from tests.cluster.compare import assert_same_rows
from tests.cluster.conftest import BUCKET, Submitter, cluster_sets, small_cluster_conf
from tests.conftest import REPO

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def test_reconciliation_holds_on_both_engines(cluster_lake: Any, sail_lake: Any) -> None:
    for _, lake in (cluster_lake, sail_lake):
        batches = lake.read_arrow("bronze.batches").to_pylist()
        assert batches and all(b["reconciled"] for b in batches)
        assert all(b["rows_in"] == b["rows_new"] + b["rows_present"] + b["rows_quarantined"] for b in batches)
    totals = [
        {k: sum(b[k] for b in lake.read_arrow("bronze.batches").to_pylist()) for k in ("rows_in", "rows_quarantined")}
        for _, lake in (cluster_lake, sail_lake)
    ]
    assert totals[0] == totals[1]


@pytest.mark.parametrize("name", ["silver.events", "silver.users", "silver.posts", "silver.follows"])
def test_silver_equals_embedded_default(cluster_lake: Any, sail_lake: Any, name: str) -> None:
    assert_same_rows(name, cluster_lake[1].read_arrow(name), sail_lake[1].read_arrow(name))


def test_every_gold_table_equals_embedded_default(cluster_lake: Any, sail_lake: Any) -> None:
    gold = sorted(n for n in CATALOG if n.startswith("gold.") and sail_lake[1].exists(n))
    assert len(gold) >= 10, gold
    missing = [n for n in gold if not cluster_lake[1].exists(n)]
    assert not missing, f"written on Sail but not on the cluster: {missing}"
    for name in gold:
        assert_same_rows(name, cluster_lake[1].read_arrow(name), sail_lake[1].read_arrow(name))


def test_quarantine_keeps_raw_bytes_on_s3(cluster_lake: Any, sail_lake: Any) -> None:
    def key(lake: Lake) -> list[tuple[str, int, bytes, str]]:
        rows = lake.read_arrow("bronze.quarantine", columns=["source_file", "line_no", "raw", "reason"]).to_pylist()
        return sorted((r["source_file"], r["line_no"], r["raw"], r["reason"]) for r in rows)

    cluster, local = key(cluster_lake[1]), key(sail_lake[1])
    assert cluster and cluster == local


# A whole second ingest submission (~2.5 min): `make test-extended`. Re-delivery adding nothing is checked in `make
# test` on S3 through Sail (tests/cluster/test_sail_s3.py) and on the embedded default (tests/ingest).
@pytest.mark.extended
def test_second_cluster_run_adds_nothing(cluster_lake: Any, submit: Submitter) -> None:
    cfg, lake = cluster_lake
    tables = ("bronze.events", "bronze.quarantine", "silver.events", "silver.posts", "silver.follows")
    before = {t: lake.version(t) for t in tables}
    rows = {t: lake.read_arrow(t, columns=[lake_key(t)]).num_rows for t in tables}
    submit("ingest", *cluster_sets(cfg.work_path))
    fresh = Lake.from_config(cfg)
    assert {t: fresh.version(t) for t in tables} == before
    assert {t: fresh.read_arrow(t, columns=[lake_key(t)]).num_rows for t in tables} == rows
    runs = fresh.read_arrow("audit.job_runs").to_pylist()
    assert sum(1 for r in runs if r["job"] == "ingest" and r["status"] == "succeeded") == 2


def lake_key(name: str) -> str:
    from socialflywheel.lake.catalog import table

    t = table(name)
    return (t.keys or tuple(t.column_names))[0]


PROBE = REPO / "tests" / "cluster" / "probe_env.py"


def test_executors_run_udfs_from_the_shipped_environment(submit: Submitter, tmp_path: Path) -> None:
    """A task imports the project and parses a landing line with it: both must come from the archive."""
    from socialflywheel.cluster.submit import submit_command

    out_file = tmp_path / "probe.json"
    argv = submit_command(
        "probe",
        master=submit.cluster.master_url,
        env_archive=submit.env_archive,
        jars_dir=submit.jars,
        spark_conf=small_cluster_conf(submit.cluster),
        jars_on_nodes=True,
        script=PROBE,
        job_args=[str(out_file)],
    )
    done = subprocess.run(argv, cwd=REPO, env=submit.cluster.env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    import json

    seen = json.loads(out_file.read_text())
    driver_prefix = str(Path(__import__("sys").prefix).resolve())
    assert seen and all(s["parsed_event_type"] == "view" for s in seen)
    for s in seen:
        assert s["prefix"].endswith("/environment") and s["prefix"] != driver_prefix, s
        assert s["module"].startswith(s["prefix"]), s  # socialflywheel imported from the archive, not the checkout
        assert any(str(d) in s["prefix"] for d in submit.cluster.work_dirs), s  # unpacked in a worker's folder


# Destructive: runs last in this module (it erases people from the cluster lake).
def test_erasure_on_the_cluster_leaves_no_byte_in_the_bucket(
    cluster_lake: Any, submit: Submitter, object_store: Any, tmp_path: Path
) -> None:
    """erase + maintain through delta-spark on S3; then every object under the lake is read for the people."""
    from socialflywheel.privacy.pseudonymize import pseudonym
    from tests.privacy.scan import find_ids, id_patterns

    cfg, lake = cluster_lake
    active = lake.read_arrow("bronze.events", columns=["user_id"]).column("user_id").to_pylist()
    victims = sorted(set(active))[:3]
    pseudos = [pseudonym(v, cfg.privacy.hmac_key()) for v in victims]
    patterns = id_patterns(victims, pseudos)
    assert find_ids(download(object_store, "lake/", tmp_path / "before"), patterns)  # the scan can see them

    users = [arg for v in victims for arg in ("--user", v)]
    submit("erase", *cluster_sets(cfg.work_path), job_args=(*users, "--user", "no-such-person"))
    hold = ("maintain.vacuum_retention_hours=0", "maintain.log_retention_hours=0")
    submit("maintain", *cluster_sets(cfg.work_path), *hold)

    assert find_ids(download(object_store, "lake/", tmp_path / "after"), patterns) == {}
    fresh = Lake.from_config(cfg)
    events = fresh.read_arrow("silver.events", columns=["user_id", "target_user_id"]).to_pylist()
    assert events and not {p for r in events for p in (r["user_id"], r["target_user_id"])} & set(pseudos)
    audit = fresh.read_arrow("audit.erasures").to_pylist()
    assert audit and not any(v in repr(audit) for v in [*victims, *pseudos])


def download(store: Any, prefix: str, dest: Path) -> Path:
    """Every object under ``prefix`` of the bucket, as files under ``dest`` (for the byte scan)."""
    client = store.client()
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            if obj["Key"].endswith("/"):  # a folder marker (hadoop-aws writes them), no content
                continue
            target = dest / obj["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(BUCKET, obj["Key"], str(target))
    return dest

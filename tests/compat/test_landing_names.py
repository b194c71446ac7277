"""Landing file names, fuzzed: JVM Spark and Sail ingest the same folder into the same rows.

Before: JVM Spark was handed our percent-encoded file URIs, which Hadoop paths never decode, so *every* file under
``date=YYYY-MM-DD`` (``date%3D...``), and any name with a space or a ``%``, failed the whole batch with
PATH_NOT_FOUND; glob characters (``[ ] { } * ?``) were expanded, and a ``%XX`` in a name is decoded by Hadoop's
paths. A ``:`` past the scheme, which Hadoop cannot hold, is one ``bad_file_name`` row on every engine.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socialflywheel.ingest.landing import name_problem
from socialflywheel.lake.io import Lake
from tests.compat.conftest import REPO, classic_env
from tests.conftest import java_or_fail, make_config

pytestmark = pytest.mark.slow

TRICKY = [
    "plain.jsonl",
    "sp ace.jsonl",
    "pct%.jsonl",
    "a%41b.jsonl",
    "br[a]ce.jsonl",
    "cu{r,l}y.jsonl",
    "q?m.jsonl",
    "st*ar.jsonl",
    "back\\slash.jsonl",
    "zoë ü 東京.jsonl",
    "hash#frag.jsonl",
    "new\nline.jsonl",
    "eq=ual&amp;+plus'quote\".jsonl",
]
# No ':' in any name here: a ':' is a bad name on every engine, but on JVM Spark its mere presence beside a
# '%XX' name fails the batch (the strict xfail below).
ALPHABET = "abcXYZ019 -_.,;=+&'\"!@$~()[]{}*?#%\\éü東\t"


def _names(seed: int, count: int) -> list[str]:
    """The tricky names and ``count`` random ones (never hidden: engines skip names starting with . or _)."""
    rng = random.Random(seed)
    names = set(TRICKY)
    while len(names) < len(TRICKY) + count:
        names.add("f" + "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 12))) + ".jsonl")
    return sorted(names)


def _landing(root: Path, names: list[str]) -> dict[str, str]:
    """One valid event per file under a dated partition; event id per file name."""
    folder = root / "events" / "date=2026-10-03"
    folder.mkdir(parents=True)
    ids = {}
    for i, name in enumerate(names):
        ids[name] = f"e{i:04d}"
        event = {"event_id": ids[name], "event_type": "view", "user_id": "u1", "post_id": "p1"}
        event |= {"ts": "2026-10-03T10:00:00Z", "dwell_ms": 100}
        (folder / name).write_text(json.dumps(event) + "\n")
    return ids


def _outcome(lake: Lake) -> tuple[list[str], list[tuple[str, str]]]:
    events = sorted(lake.read_arrow("bronze.events", columns=["event_id"]).column("event_id").to_pylist())
    rejected = lake.read_arrow("bronze.quarantine", columns=["reason", "source_file"]).to_pylist()
    return events, sorted((r["reason"], r["source_file"]) for r in rejected)


def _ingest_on_jvm(work: Path, sets: list[str]) -> None:
    """``flywheel ingest`` on classic JVM Spark (local, the Delta jars of ``make jars``) into ``work``."""
    java_or_fail()
    jars = sorted((REPO / "jars").glob("delta-*.jar"))
    if not jars:
        pytest.fail("jars/ has no Delta jars: `make jars` resolves them (make test runs it)")
    delta = {
        "spark.jars": ",".join(str(j) for j in jars),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    }
    args = [str(Path(sys.executable).with_name("flywheel")), "ingest", "--no-conform"]
    for kv in [f"work_dir={work}", "spark.engine=classic", *sets, f"spark.conf={json.dumps(delta)}"]:
        args += ["--set", kv]
    proc = subprocess.run(args, capture_output=True, text=True, env=classic_env(), timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_jvm_spark_and_sail_ingest_any_file_name_alike(spark: Any, tmp_path: Path) -> None:
    names = _names(seed=20261202, count=40)
    ids = _landing(tmp_path / "landing", names)
    sets = ["ingest.min_ts=2020-01-01T00:00:00Z", f"ingest.landing_dir={tmp_path / 'landing'}"]

    from socialflywheel.ingest import run_ingest

    cfg = make_config(tmp_path / "sail", *sets)
    sail = Lake.from_config(cfg)
    run_ingest(spark, sail, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)

    _ingest_on_jvm(tmp_path / "jvm", sets)
    jvm = Lake.from_config(make_config(tmp_path / "jvm", *sets))

    assert _outcome(jvm) == _outcome(sail)
    events, rejected = _outcome(sail)
    bad = {n for n in names if name_problem(n)}
    assert events == sorted(ids[n] for n in names if n not in bad)  # every addressable file's line, once
    assert [reason for reason, _ in rejected] == ["bad_file_name"] * len(bad)
    assert "new\nline.jsonl" in bad and not {"br[a]ce.jsonl", "a%41b.jsonl", "q?m.jsonl"} & bad


@pytest.mark.extended  # a known limitation kept on record (a JVM ingest that fails, ~45 s): make test-extended
@pytest.mark.xfail(
    strict=True,
    reason="known JVM limitation: Hadoop cannot list a folder holding a name with a ':' (URISyntaxException: "
    "Relative path in absolute URI); a '%XX' name beside it is read through the glob class '[%]', which lists the "
    "folder, so the batch fails. Sail takes both. Fix: stage such files under safe names before the JVM reads.",
)
def test_jvm_spark_lists_a_folder_with_a_colon_name_beside_a_percent_escape_name(tmp_path: Path) -> None:
    _landing(tmp_path / "landing", ["co:lon.jsonl", "a%41b.jsonl"])
    sets = ["ingest.min_ts=2020-01-01T00:00:00Z", f"ingest.landing_dir={tmp_path / 'landing'}"]
    _ingest_on_jvm(tmp_path / "jvm", sets)

"""The DAGs under a real Airflow (its own venv): parsing and task graph, the daily DAG end to end, backfill, gates.

The Airflow venv is created by the test setup when missing (scripts/airflow_venv.sh). The daily DAG
runs with the cli runner on a tiny simulated lake and every task must succeed (FLYWHEEL_SKIP_MISSING=0: a job
the CLI lacks fails its task; before, the test set it to 1, so a missing job passed as "skipped").
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import make_config
from tests.infra.airflow_harness import (
    DAGS,
    DAILY_JOBS,
    PROJECT_BIN,
    AirflowHome,
    airflow_env,
    ensure_airflow_venv,
)

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

GATES = ["gate_freshness", "gate_volume"]


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    """Airflow venv, a migrated SQLite AIRFLOW_HOME and a tiny simulated landing folder (14 days from 2026-10-01)."""
    airflow = ensure_airflow_venv()
    root = tmp_path_factory.mktemp("airflow")
    home, work = root / "home", root / "work"
    home.mkdir()
    af = AirflowHome(airflow=airflow, home=home, work=work, env=airflow_env(home, work))
    started = time.perf_counter()
    migrate = af.run("db", "migrate", timeout=180)
    assert migrate.returncode == 0, migrate.stdout[-3000:]
    sim = subprocess.run(
        [str(PROJECT_BIN / "flywheel"), "simulate", "--set", f"work_dir={work}", "--set", "simulate.profile=tiny"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert sim.returncode == 0, sim.stderr[-3000:]
    print(f"airflow home ready in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return af


def _load_dags(af: AirflowHome, runner: str) -> dict:
    env = {**af.env, "FLYWHEEL_RUNNER": runner, "FLYWHEEL_RETRIES": "2"}
    proc = subprocess.run(
        [str(af.airflow.parent / "python"), str(Path(__file__).with_name("load_dags.py")), str(DAGS)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("DAGBAG_JSON="))
    return json.loads(line.removeprefix("DAGBAG_JSON="))


@pytest.mark.parametrize("runner", ["cli", "spark-submit"])
def test_dags_load_with_the_expected_task_graph(airflow_home: AirflowHome, runner: str) -> None:
    bag = _load_dags(airflow_home, runner)
    assert bag["import_errors"] == {}
    assert set(bag["dags"]) == {"flywheel_daily", "flywheel_maintain", "flywheel_erase"}
    # Parsing the DAGs imports nothing heavy (the tasks run the project in their own processes).
    assert bag["heavy_modules"] == []

    daily = bag["dags"]["flywheel_daily"]["tasks"]
    assert set(daily) == {*GATES, *DAILY_JOBS}
    chain = [*GATES, *DAILY_JOBS]
    for before, after in itertools.pairwise(chain):
        assert daily[after]["upstream"] == [before], f"{after} should follow {before} only"
    assert daily["gate_freshness"]["upstream"] == []
    job_operator = "BashOperator" if runner == "cli" else "SparkSubmitOperator"
    for job in DAILY_JOBS:
        assert daily[job]["operator"] == job_operator
        assert daily[job]["retries"] == 2
        assert daily[job]["trigger_rule"] == "none_failed"
    for gate in GATES:
        assert daily[gate]["retries"] == 0  # a gate fails the run at once, with its message
    assert bag["dags"]["flywheel_daily"]["catchup"] is False

    assert set(bag["dags"]["flywheel_maintain"]["tasks"]) == {"maintain"}
    erase = bag["dags"]["flywheel_erase"]["tasks"]
    assert set(erase) == {"erase", "maintain_after_erase"}
    assert erase["erase"]["upstream"] == []
    assert erase["maintain_after_erase"]["upstream"] == ["erase"]
    assert bag["dags"]["flywheel_erase"]["params"] == ["request_id"]  # never raw ids
    assert erase["erase"]["operator"] == job_operator


def test_daily_dag_runs_end_to_end(airflow_home: AirflowHome) -> None:
    started = time.perf_counter()
    proc = airflow_home.run("dags", "test", "flywheel_daily", "2026-10-12")
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0, proc.stdout[-6000:]
    states = airflow_home.task_states("flywheel_daily", "2026-10-12")
    assert states == {t: "success" for t in [*GATES, *DAILY_JOBS]}
    assert airflow_home.run_state("flywheel_daily", "2026-10-12") == "success"
    # The jobs really ran on the lake: their run records are there.
    from socialflywheel.lake.io import Lake

    lake = Lake.from_config(make_config(airflow_home.work))
    runs = lake.read_arrow("audit.job_runs").to_pylist()
    ran = {r["job"] for r in runs if r["status"] == "succeeded"}
    assert set(DAILY_JOBS) <= ran
    assert lake.read_arrow("bronze.events").num_rows > 10_000
    # The run was dated: ingest took the landing partitions up to its day only, training recorded the day.
    days = lake.read_arrow("silver.events", columns=["event_date"]).column("event_date").to_pylist()
    assert str(max(days)) == "2026-10-12"
    print(f"daily DAG end to end: {elapsed:.1f} s", file=sys.stderr)


# Two more whole DAG runs (~4 min): `make test-extended`. A dated run through the DAG is checked above; a backfill of a
# day reproducing what its daily run wrote, in tests/features/test_backfill.py.
@pytest.mark.extended
def test_backfill_of_two_dates(airflow_home: AirflowHome) -> None:
    started = time.perf_counter()
    proc = subprocess.run(
        ["bash", str(DAGS.parent / "backfill.sh"), "flywheel_daily", "2026-10-13", "2026-10-14"],
        env={**airflow_home.env, "AIRFLOW_BIN": str(airflow_home.airflow)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=400,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert "2 run(s): 2026-10-13 2026-10-14" in proc.stdout
    assert "2 run(s) succeeded" in proc.stdout
    for day in ("2026-10-13", "2026-10-14"):
        assert airflow_home.run_state("flywheel_daily", day) == "success"
        states = airflow_home.task_states("flywheel_daily", day)
        assert {t for t, s in states.items() if s != "success"} == set()
    print(f"backfill of two dates: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def test_stale_landing_data_fails_the_run_at_the_freshness_gate(airflow_home: AirflowHome) -> None:
    # The landing folder ends on 2026-10-14: eleven days before this logical date.
    proc = airflow_home.run("dags", "test", "flywheel_daily", "2026-10-25")
    assert proc.returncode != 0
    assert "QUALITY GATE FAILED: freshness: landing data is stale" in proc.stdout
    assert "2026-10-14 (11 days old, at most 1 allowed)" in proc.stdout
    states = airflow_home.task_states("flywheel_daily", "2026-10-25")
    assert states["gate_freshness"] == "failed"
    assert {states[t] for t in ["gate_volume", *DAILY_JOBS]} == {"upstream_failed"}
    assert airflow_home.run_state("flywheel_daily", "2026-10-25") == "failed"


def test_the_erase_dag_carries_out_a_stored_request_and_no_raw_id_reaches_airflow(airflow_home: AirflowHome) -> None:
    from socialflywheel.lake.io import Lake
    from socialflywheel.privacy.pseudonymize import pseudonym
    from tests.privacy.scan import find_ids, id_patterns

    cfg = make_config(airflow_home.work)
    lake = Lake.from_config(cfg)
    flywheel = [str(PROJECT_BIN / "flywheel")]
    sets = ["--set", f"work_dir={airflow_home.work}"]
    if not lake.exists("bronze.events"):  # run alone: the daily test has not filled the lake
        subprocess.run([*flywheel, "ingest", *sets], check=True, capture_output=True)
    users = sorted(set(lake.read_arrow("bronze.events", columns=["user_id"]).column("user_id").to_pylist()))
    victims = [users[1], users[-2]]
    ids_file = airflow_home.work / "erase-ids.txt"
    ids_file.write_text("\n".join(victims) + "\n")
    filed = subprocess.run(
        [*flywheel, "erase-request", *sets, "--users-file", str(ids_file)], capture_output=True, text=True, check=False
    )
    assert filed.returncode == 0, filed.stderr[-2000:]
    request_id = filed.stdout.strip()
    ids_file.unlink()

    conf = json.dumps({"request_id": request_id})
    proc = airflow_home.run("dags", "test", "flywheel_erase", "2026-10-20", "-c", conf)
    assert proc.returncode == 0, proc.stdout[-6000:]
    states = airflow_home.task_states("flywheel_erase", "2026-10-20")
    assert states == {"erase": "success", "maintain_after_erase": "success"}
    assert request_id in proc.stdout
    # The people are gone from the lake, and neither their raw ids nor their pseudonyms are anywhere in
    # Airflow's home: the metadata database (runs, rendered templates, XCom) and every task log.
    assert not set(victims) & set(lake.read_arrow("bronze.events", columns=["user_id"]).column("user_id").to_pylist())
    key = cfg.privacy.hmac_key()
    patterns = id_patterns(victims, [pseudonym(v, key) for v in victims])
    assert find_ids(airflow_home.home, patterns) == {}
    assert find_ids(Path(cfg.lake_root), patterns) == {}  # and, after the maintain pass, nowhere in the lake
    # A raw id in place of a request id is refused by the DAG's param schema before any task runs.
    raw_conf = json.dumps({"request_id": victims[0]})
    refused = airflow_home.run("dags", "test", "flywheel_erase", "2026-10-21", "-c", raw_conf)
    assert refused.returncode != 0

"""The feature job (`jobs/features.py`, the whole job) on three engines in one run, as ratios to Sail local.

    python bench/bench_cluster.py                      # 1M events
    python bench/bench_cluster.py --events 200000      # a smaller lake

A child simulates the platform (profile custom, users = events / 100) and ingests and conforms it with Sail
into a local lake. Each engine then runs the feature job on its own copy of that lake:

- ``sail-local``: `python jobs/features.py` on the embedded default (one process, threads);
- ``sail-local-cluster``: the same with ``spark.sail_mode=local-cluster`` (Sail's driver and workers over RPC);
- ``spark-standalone``: `spark-submit jobs/features.py` on a standalone Spark 4.0.1 cluster started here (a master
  and two one-core workers, separate JVMs) with delta-spark from `make jars` and the packed executor environment.

Wall time and the peak RSS of the engine's whole process tree are recorded (for the standalone cluster: the
spark-submit driver plus the master, the workers and everything under them: executors and Python workers), and
the gold tables' row counts are checked equal across engines. Results: bench/results/cluster.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import clean_env, emit

REPO = Path(__file__).resolve().parents[1]
GOLD = ("gold.user_features", "gold.item_features", "gold.hashtag_trends", "gold.segments", "gold.training_examples")


def prepare(events: int, work: Path) -> None:
    """Child: simulate, ingest and conform into ``work`` with Sail."""
    from socialflywheel.config import load_config
    from socialflywheel.ingest import run_conform, run_ingest
    from socialflywheel.lake.io import Lake
    from socialflywheel.simulate import run_simulate
    from socialflywheel.spark import get_session, stop_session

    cfg = load_config(
        overrides=[
            f"work_dir={work}",
            "simulate.profile=custom",
            f"simulate.events={events}",
            f"simulate.users={max(events // 100, 1000)}",
        ]
    )
    spark, lake = get_session(cfg), Lake.from_config(cfg)
    run_simulate(spark, lake, cfg.simulate, landing=cfg.landing_dir)
    ingested = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    run_conform(spark, lake, cfg.privacy)
    stop_session()
    print(json.dumps({"rows_in": ingested.rows_in}))


def measure(argv: list[str], *, env: dict[str, str], also: list[int], timeout: float, log: Path) -> dict[str, Any]:
    """Run ``argv``; wall time and the peak RSS of its tree plus the trees of the ``also`` pids (50 ms samples)."""
    import psutil

    t0 = time.perf_counter()
    with log.open("w") as out:
        proc = psutil.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        roots = [proc, *(psutil.Process(p) for p in also)]
        peak = 0
        while proc.poll() is None:
            rss = 0
            for root in roots:
                try:
                    rss += sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
                except psutil.Error:
                    pass
            peak = max(peak, rss)
            if time.perf_counter() - t0 > timeout:
                for p in [*proc.children(recursive=True), proc]:
                    p.kill()
                raise TimeoutError(f"{argv[:3]} ran past {timeout:.0f} s")
            time.sleep(0.05)
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]} exited {proc.returncode}:\n{log.read_text()[-3000:]}")
    return {"wall_s": time.perf_counter() - t0, "peak_rss_mib": peak / 2**20}


def gold_rows(work: Path, sets: list[str]) -> dict[str, int]:
    from socialflywheel.config import load_config
    from socialflywheel.lake.io import Lake

    lake = Lake.from_config(load_config(overrides=[f"work_dir={work}", *sets]))
    return {name: lake.read_arrow(name).num_rows for name in GOLD if lake.exists(name)}


def run_engines(base: Path, scratch: Path, timeout: float) -> list[dict[str, Any]]:
    env = {**clean_env(), "FLYWHEEL_HMAC_KEY": "dev-only-key-not-for-production"}
    features = [sys.executable, str(REPO / "jobs" / "features.py"), "--conf", str(REPO / "conf" / "local.yaml")]
    rows: list[dict[str, Any]] = []
    for engine in ("sail-local", "sail-local-cluster", "spark-standalone"):
        work = scratch / engine
        shutil.copytree(base, work)
        print(f"{engine} ...", file=sys.stderr, flush=True)
        log = scratch / f"{engine}.log"
        try:
            result = _run_engine(engine, work, scratch, features, env, timeout, log)
        except TimeoutError as exc:  # recorded, not fatal: the other engines' figures still count
            rows.append({"engine": engine, "unfinished": str(exc)})
            shutil.rmtree(work, ignore_errors=True)
            continue
        result["gold_rows"] = gold_rows(work, [])
        rows.append({"engine": engine, **result})
        shutil.rmtree(work, ignore_errors=True)
    return rows


def _run_engine(
    engine: str, work: Path, scratch: Path, features: list[str], env: dict[str, str], timeout: float, log: Path
) -> dict[str, Any]:
    from socialflywheel.cluster.pack import build
    from socialflywheel.cluster.standalone import start_cluster
    from socialflywheel.cluster.submit import submit_command, submit_env

    if engine.startswith("sail"):
        sets = ["--set", f"work_dir={work}"]
        if engine == "sail-local-cluster":
            sets += ["--set", "spark.sail_mode=local-cluster"]
        return measure([*features, *sets], env=env, also=[], timeout=timeout, log=log)
    cluster = start_cluster(scratch / "cluster", env=submit_env(env), workers=2, cores=1, memory="8g")
    try:
        argv = submit_command(
            "features",
            master=cluster.master_url,
            env_archive=build(REPO / "build" / "executor-env.tar.gz"),
            sets=[f"work_dir={work}", f"lake.root={work}/lake", f"ingest.landing_dir={work}/landing"],
            spark_conf={
                "spark.executor.cores": "1",
                "spark.executor.memory": "6g",
                "spark.driver.memory": "4g",
                "spark.cores.max": "2",
                "spark.dynamicAllocation.enabled": "false",
                "spark.sql.shuffle.partitions": "8",
                "spark.ui.enabled": "false",
                "spark.eventLog.enabled": "false",
            },
            jars_on_nodes=True,
        )
        return measure(argv, env=submit_env(env), also=cluster.pids(), timeout=timeout, log=log)
    finally:
        cluster.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--engine-timeout", type=int, default=3600)
    parser.add_argument("--child", choices=["prepare"])
    parser.add_argument("--work")
    args = parser.parse_args()
    if args.child == "prepare":
        prepare(args.events, Path(args.work))
        return
    scratch = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        base = scratch / "base"
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, __file__, "--child", "prepare", "--events", str(args.events), "--work", str(base)],
            env=clean_env(),
            capture_output=True,
            text=True,
            check=True,
        )
        prep = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"lake of {prep['rows_in']:,} landing rows ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        shutil.rmtree(base / "landing", ignore_errors=True)  # the feature job reads silver only
        rows = run_engines(base, scratch, args.engine_timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    counts = {r["engine"]: r.pop("gold_rows") for r in rows if "gold_rows" in r}
    same = len({json.dumps(c, sort_keys=True) for c in counts.values()}) == 1
    local = rows[0]
    for r in rows:
        r["events"] = prep["rows_in"]
        if "wall_s" not in r or "wall_s" not in local:
            continue
        r["wall_vs_sail_local"] = r["wall_s"] / local["wall_s"]
        r["rss_vs_sail_local"] = r["peak_rss_mib"] / local["peak_rss_mib"]
    emit("cluster", rows, {"gold_rows": counts, "gold_rows_equal": same, "command": " ".join(sys.argv)})
    if not same:
        raise SystemExit(f"engines wrote different gold row counts: {counts}")


if __name__ == "__main__":
    main()

"""Federated trend discovery, the lake side: partition, launch Flower, score the estimates like the central job.

:func:`run_federated_trends` writes each device's posts (:mod:`.partition`) and the public query (the hashtag
vocabulary from silver.posts, the day range, ``epsilon``, ``cap``), runs :mod:`.trend_apps` on Flower's
simulation runtime in the Flower venv, and reads back only what the server wrote: estimated people per
(hashtag, day). :func:`score_estimates` scores those with the central trend job's own ``burst_scores`` and
``trend_runs`` at day granularity, the mechanism's noise variance added to the Poisson one, and
:func:`trend_quality` measures found trends against planted ones the way the central job's test does.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from socialflywheel.federated.partition import ClientKind, write_post_partition

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.config.stages import FeaturesConfig
    from socialflywheel.lake.io import Lake

REPO = Path(__file__).resolve().parents[3]
FLOWER_VENV_ENV = "FLYWHEEL_FLOWER_PYTHON"  # the Flower venv's python (default <repo>/.venv-flower/bin/python)
DAY = dt.timedelta(days=1)
Privacy = Literal["local_dp", "secagg"]


def flower_python() -> Path:
    """The Flower venv's interpreter (``scripts/flower_venv.sh`` makes it), or fail saying how to get one."""
    py = Path(os.environ.get(FLOWER_VENV_ENV, REPO / ".venv-flower" / "bin" / "python"))
    if not py.exists():
        raise FileNotFoundError(f"no Flower interpreter at {py}: run scripts/flower_venv.sh (or set {FLOWER_VENV_ENV})")
    return py


def public_query(lake: Lake, *, epsilon: float, cap: int, seed: int) -> dict[str, Any]:
    """The parameters every device receives: the public hashtag vocabulary and day range of silver.posts."""
    import pyarrow as pa
    import pyarrow.compute as pc

    posts = lake.read_arrow("silver.posts", columns=["created_at", "hashtags"])
    vocab = sorted(t for t in set(pc.utf8_lower(pc.list_flatten(posts["hashtags"])).to_pylist()) if t)
    secs = pc.cast(pc.cast(posts["created_at"], pa.timestamp("s", "UTC"), safe=False), pa.int64()).to_numpy()
    day0 = int(secs.min() // 86_400) if len(secs) else 0
    days = int(secs.max() // 86_400) - day0 + 1 if len(secs) else 1
    return {"vocab": vocab, "day0": day0, "days": days, "cap": int(cap), "epsilon": float(epsilon), "seed": seed}


def run_federated_trends(
    lake: Lake,
    root: str | Path,
    *,
    epsilon: float,
    cap: int,
    seed: int = 0,
    kind: ClientKind = "device",
    privacy: Privacy = "local_dp",
    delta: float | None = None,
    cpus: int | None = None,
    timeout_s: float = 3600.0,
) -> dict[str, Any]:
    """Partition, run the federated query on Flower's simulation runtime, return the server's summary.

    ``privacy``: ``local_dp`` (each device's daily reports are ``epsilon``-LDP, :mod:`.trend_apps`) or ``secagg``
    (Flower's SecAgg+ over devices adding shares of Gaussian noise: ``(epsilon, delta)`` user-level central DP over
    the whole range, :mod:`.secagg_apps`; ``delta`` defaults to 1 / (10 x clients)). Writes under ``root``:
    ``clients/`` (one file per client), ``query.json``, and from the server ``estimates.parquet`` and
    ``received.json``.
    """
    root = Path(root)
    clients = write_post_partition(lake, root, kind=kind, seed=seed)
    query = public_query(lake, epsilon=epsilon, cap=cap, seed=seed) | {"delta": delta, "timeout_s": timeout_s}
    (root / "query.json").write_text(json.dumps(query))
    app = "trends" if privacy == "local_dp" else "trends-secagg"
    summary = launch_simulation(root, app, clients, cpus=cpus, timeout_s=timeout_s)
    return summary | {"clients": clients}


def launch_simulation(
    root: str | Path, app: str, clients: int, *, cpus: int | None = None, timeout_s: float = 3600.0
) -> dict[str, Any]:
    """Run a federated app on Flower's simulation runtime in the Flower venv; returns the server's summary.

    ``app`` names one of :data:`socialflywheel.federated.sim.APPS`; ``clients`` simulated SuperNodes serve the
    partition and query under ``root``; the summary is what the server wrote to ``received.json``.
    """
    root = Path(root)
    (root / "received.json").unlink(missing_ok=True)
    env = {**os.environ, "FLYWHEEL_FL_ROOT": str(root), "PYTHONPATH": str(REPO / "lib"), "FLWR_TELEMETRY_ENABLED": "0"}
    if app == "twotower":  # torch comes from this venv, appended after the Flower venv's own packages
        import torch

        env["FLYWHEEL_TORCH_SITE"] = str(Path(torch.__file__).parents[1])
    cmd = [str(flower_python()), "-m", "socialflywheel.federated.sim", app, "--clients", str(clients)]
    if cpus:
        cmd += ["--cpus", str(cpus)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0 or not (root / "received.json").exists():
        errors = [line for line in proc.stderr.splitlines() if "Error" in line or "Exception" in line]
        why = errors[-1].strip() if errors else (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the Flower run failed (exit {proc.returncode}): {why}; rerun: {' '.join(cmd)}")
    summary: dict[str, Any] = json.loads((root / "received.json").read_text())["summary"]
    return summary


def estimate_frames(spark: SparkSession, root: str | Path) -> tuple[DataFrame, DataFrame, float, float]:
    """The server's estimates as the central scorer's inputs (day buckets), and their noise variance (floor, per use).

    ``uses`` and ``users`` are the estimated people per (hashtag, day), rounded and floored at 0; a day's
    ``posts`` is the sum over hashtags (the uses the baseline's share is taken of).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    est = pq.read_table(Path(root) / "estimates.parquet")
    uses = np.maximum(np.rint(est["estimate"].to_numpy()), 0).astype(np.int64)
    counts = pa.table({"hashtag": est["hashtag"], "bucket": est["day"], "uses": uses, "users": uses})
    counts = counts.filter(pc.greater(counts["uses"], 0))
    days = est["day"].to_numpy()
    order = np.unique(days)
    totals = pa.table(
        {
            "bucket": order,
            "posts": np.maximum(np.bincount(np.searchsorted(order, days), weights=uses), 1).astype(np.int64),
        }
    )
    floor, per_use = (float(est[c][0].as_py()) if est.num_rows else 0.0 for c in ("noise_var", "noise_per_use"))
    return spark.createDataFrame(counts.to_pandas()), spark.createDataFrame(totals.to_pandas()), floor, per_use


def score_estimates(spark: SparkSession, root: str | Path, fc: FeaturesConfig) -> list[dict[str, Any]]:
    """The rows of :func:`trend_frame`."""
    return [r.asDict() for r in trend_frame(spark, root, fc).collect()]


def trend_frame(spark: SparkSession, root: str | Path, fc: FeaturesConfig) -> DataFrame:
    """Daily trends from the federated estimates, by the central trend job's scoring (noise variance added)."""
    from socialflywheel.features.trends import burst_scores, trend_options, trend_runs

    counts, totals, floor, per_use = estimate_frames(spark, root)
    opts = trend_options(fc, "day")  # the central job's daily settings: same baseline, thresholds and runs
    scoring = {k: opts[k] for k in ("baseline_buckets", "prior", "min_score", "min_count")}
    scores = burst_scores(counts, totals, granularity="day", noise_var=floor, noise_per_use=per_use, **scoring)  # type: ignore[arg-type]
    return trend_runs(scores, granularity="day", **{k: opts[k] for k in ("extend_score", "max_gap")})  # type: ignore[arg-type]


def trend_quality(
    found: list[dict[str, Any]], planted: list[dict[str, Any]], *, bucket: dt.timedelta = DAY
) -> dict[str, float]:
    """Precision and recall of found trends against planted ones, counted as the central trend test counts them.

    Precision: found trends overlapping a planted one of their hashtag. Recall: planted trends whose hashtag has a
    found trend starting within one bucket of the bucket the planted one starts in.
    """

    def utc(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:  # Spark's collect gives naive UTC times
        stamp = ("start_ts", "end_ts")
        return [r | {k: r[k] if r[k].tzinfo else r[k].replace(tzinfo=dt.UTC) for k in stamp} for r in rows]

    def floor(t: dt.datetime) -> dt.datetime:
        return t - (t - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) % bucket

    found, planted = utc(found), utc(planted)

    def overlaps(d: dict[str, Any], p: dict[str, Any]) -> bool:
        return bool(d["hashtag"] == p["hashtag"] and d["start_ts"] < p["end_ts"] and p["start_ts"] < d["end_ts"])

    precision = sum(any(overlaps(d, p) for p in planted) for d in found) / max(len(found), 1)
    recall = sum(
        any(d["hashtag"] == p["hashtag"] and abs(d["start_ts"] - floor(p["start_ts"])) <= bucket for d in found)
        for p in planted
    ) / max(len(planted), 1)
    return {"precision": precision, "recall": recall, "found": float(len(found)), "planted": float(len(planted))}

"""Federated trend discovery under local DP against the central trend job, on one simulated world.

    python bench/bench_federated.py                              # default world, epsilon/day 1,2,4,8, seeds 0-2
    python bench/bench_federated.py --work /tmp/w --epsilons 8   # reuse a world built before under /tmp/w

Each row is one Flower simulation (one SuperNode per person who posted, on Ray): under local DP every device
answers one SetOUE report a day; under SecAgg+ every device sends its masked 0/1 vector with a share of Gaussian
noise (user-level epsilon over the whole range). The server's estimates are scored by the central daily scorer.
Precision and recall are counted as tests/features/test_trends.py counts them (start within one bucket); the
central rows are the production job (hour buckets) and its daily variant on the same silver.events. Writes
``bench/results/federated.json`` and the privacy-utility curve ``bench/results/federated_trends.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "lib"))
sys.path.insert(0, str(REPO / "bench"))

from _harness import RESULTS, emit  # noqa: E402


def _world(work: Path, profile: str) -> tuple[Any, Any, Any]:
    from socialflywheel.config import load_config
    from socialflywheel.lake.io import Lake
    from socialflywheel.spark import get_session

    cfg = load_config(REPO / "conf" / "local.yaml", [f"work_dir={work}", f"simulate.profile={profile}"])
    spark, lake = get_session(cfg), Lake.from_config(cfg)
    if lake.delta("silver.events") is None:
        from socialflywheel.ingest import run_conform, run_ingest
        from socialflywheel.simulate import run_simulate

        print(f"simulating the {profile} world into {work} ...", file=sys.stderr, flush=True)
        run_simulate(spark, lake, cfg.simulate, landing=cfg.landing_dir)
        run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
        run_conform(spark, lake, cfg.privacy)
    return cfg, spark, lake


def _central_rows(cfg: Any, spark: Any, lake: Any, planted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    import datetime as dt

    from socialflywheel.features.trends import hashtag_trends, trend_options
    from socialflywheel.federated.trends import trend_quality

    events = lake.read(spark, "silver.events")
    rows = []
    for grain, bucket in (("hour", dt.timedelta(hours=1)), ("day", dt.timedelta(days=1))):
        t0 = time.perf_counter()
        found = [r.asDict() for r in hashtag_trends(events, **trend_options(cfg.features, grain))[1].collect()]
        q = trend_quality(found, planted, bucket=bucket)
        rows.append(
            {
                "method": f"central ({grain} buckets, exact counts)",
                "epsilon_per_day": "inf",
                "epsilon_total": "inf",
                "delta": "-",
                "seed": "-",
                "precision": q["precision"],
                "recall": q["recall"],
                "found": int(q["found"]),
                "wall_s": time.perf_counter() - t0,
            }
        )
    return rows


def _plot(rows: list[dict[str, Any]], out: Path) -> None:
    import matplotlib
    import numpy as np

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    for kind, colour in (("local DP", "tab:blue"), ("SecAgg+", "tab:green")):
        fed = [r for r in rows if kind in r["method"]]
        eps = sorted({float(r["epsilon_total"]) for r in fed})
        for metric, style in (("precision", "o-"), ("recall", "s--")):
            means = [float(np.mean([r[metric] for r in fed if float(r["epsilon_total"]) == e])) for e in eps]
            ax.plot(eps, means, style, color=colour, label=f"{kind}: {metric}")
    central = next(r for r in rows if r["method"].startswith("central (day"))
    ax.axhline(central["recall"], color="grey", linestyle=":", label="central daily job: recall")
    ax.axhline(central["precision"], color="black", linestyle=":", label="central daily job: precision")
    ax.axhline(0.9, color="red", linewidth=0.8, label="floor (0.9)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(
        "epsilon per person over the 28 days\n(local DP: 28 x the daily epsilon; SecAgg+: user-level, delta 1/(10 n))"
    )
    ax.set_ylabel("planted trends, mean over seeds")
    ax.set_ylim(-0.02, 1.05)
    ax.set_title("Federated trend discovery: privacy against utility")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=120)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="default")
    p.add_argument("--work", default=None, help="world directory (reused when it holds silver.events)")
    p.add_argument("--epsilons", default="1,2,4,8", help="epsilon per person per day")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--cap", type=int, default=2, help="hashtags per person per day that count")
    p.add_argument(
        "--secagg-epsilons",
        default="1,2,4,8",
        help="user-level epsilon of the whole release under SecAgg+ with distributed Gaussian noise ('' to skip)",
    )
    p.add_argument("--secagg-seeds", default="0")
    args = p.parse_args()

    import tempfile

    from socialflywheel.federated.trends import run_federated_trends, score_estimates, trend_quality

    work = Path(args.work or tempfile.mkdtemp(prefix="bench-federated-"))
    cfg, spark, lake = _world(work, args.profile)
    planted = lake.read_arrow("truth.trends").to_pylist()
    rows = _central_rows(cfg, spark, lake, planted)
    load_before = os.getloadavg()[0]
    runs = [("local_dp", float(e), int(sd)) for e in args.epsilons.split(",") if e for sd in args.seeds.split(",")]
    runs += [
        ("secagg", float(e), int(sd))
        for e in args.secagg_epsilons.split(",")
        if e
        for sd in args.secagg_seeds.split(",")
    ]
    for privacy, eps, seed in runs:
        root = work / "federated" / f"{privacy}-eps{eps:g}-seed{seed}"
        print(f"federated trends, {privacy}, epsilon {eps:g}, seed {seed} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        summary = run_federated_trends(lake, root, epsilon=eps, cap=args.cap, seed=seed, privacy=privacy)  # type: ignore[arg-type]
        wall = time.perf_counter() - t0
        found = score_estimates(spark, root, cfg.features)
        q = trend_quality(found, planted)
        days = json.loads((root / "query.json").read_text())["days"]
        local = privacy == "local_dp"
        rows.append(
            {
                "method": f"federated, local DP, cap {args.cap}"
                if local
                else f"federated, SecAgg+ + Gaussian, cap {args.cap}",
                "epsilon_per_day": eps if local else "-",
                "epsilon_total": eps * days if local else eps,
                "delta": 0.0 if local else summary["delta"],
                "seed": seed,
                "precision": q["precision"],
                "recall": q["recall"],
                "found": int(q["found"]),
                "wall_s": wall,
                "clients": summary["clients"],
                "clients_per_s": summary["clients"] / summary["seconds"],
                "bytes_per_client": summary["bytes_per_client"],
            }
        )
    png = RESULTS / "federated_trends.png"
    _plot(rows, png)
    emit(
        "federated",
        rows,
        {
            "command": " ".join(["python", "bench/bench_federated.py", *sys.argv[1:]]),
            "planted_trends": len(planted),
            "load_avg_1m": [load_before, os.getloadavg()[0]],
            "plot": str(png.relative_to(REPO)),
            "floor": "precision and recall >= 0.9 on the planted trends (issue #20)",
        },
    )


if __name__ == "__main__":
    main()

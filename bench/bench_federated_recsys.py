"""Federated two-tower vs its central counterpart: test Recall@50 on the same time-based holdout, bytes, throughput.

The data is a prepared dataset (``flywheel train``'s ``prepare`` of gold.training_examples; by default the default
simulation, built on first use under ``--work``). Every row trains the same model (:mod:`socialflywheel.federated.
twotower`: history-based user tower, no per-person id row) with the same loss; central on the pooled examples
(epoch chosen on validation), federated on Flower's simulation runtime with one device per person (round chosen
on validation). Variants: plain FedAvg; 10% malicious devices (sign-flipped updates x10) under FedAvg, FedMedian
and FedTrimmedAvg; user-level DP (server-side fixed clipping) at the given epsilons; 8-bit updates.

    python bench/bench_federated_recsys.py --work /tmp/fl2t                  # every variant, default world
    python bench/bench_federated_recsys.py --data /tmp/planted --variants fedavg,attack-fedavg,attack-median
    python bench/bench_federated_recsys.py --work /tmp/fl2t --fairness --variants fedavg,int8,dp-eps8 --lake L
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import RESULTS, emit

VARIANTS = {
    "fedavg": {},
    "attack-fedavg": {"malicious_fraction": 0.1},
    "attack-median": {"malicious_fraction": 0.1, "aggregation": "median"},
    "attack-trimmed": {"malicious_fraction": 0.1, "aggregation": "trimmed", "trim": 0.1},
    "int8": {"compression": "int8"},
    "dp-eps8": {"dp": "fixed", "epsilon": 8.0},
    "dp-eps4": {"dp": "fixed", "epsilon": 4.0},
    "dp-eps2": {"dp": "fixed", "epsilon": 2.0},
    "dp-eps1": {"dp": "fixed", "epsilon": 1.0},
    "dp-adaptive-eps8": {"dp": "adaptive", "epsilon": 8.0},
}


def _plot(rows: list[dict[str, Any]], out: Path) -> None:
    """Test Recall@50 against the user-level epsilon (FedAvg at the right as epsilon = inf), central lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dp = sorted((float(r["epsilon"]), r["test_recall_at_50"]) for r in rows if str(r["variant"]).startswith("dp-eps"))
    plain = next((r["test_recall_at_50"] for r in rows if r["variant"] == "fedavg"), None)
    if not dp and plain is None:
        return
    fig, ax = plt.subplots(figsize=(7.0, 4.2))
    eps = [e for e, _ in dp]
    top = 2 * max(eps) if eps else 16.0
    ax.plot(eps + ([top] if plain is not None else []), [v for _, v in dp] + ([plain] if plain is not None else []),
            "o-", label="federated (FedAvg + user-level DP; right: no DP)")  # fmt: skip
    for name, style in (("central", ":"), ("central-content-only", "--")):
        got = next((r["test_recall_at_50"] for r in rows if r["variant"] == name), None)
        if got is not None:
            ax.axhline(got, linestyle=style, color="grey", label=f"{name} (same model)")
    ax.set_xscale("log", base=2)
    ax.set_xticks([*eps, top], [*(f"{e:g}" for e in eps), "inf"])
    ax.set_xlabel("user-level epsilon of the whole run (delta 1/devices)")
    ax.set_ylabel("test Recall@50")
    ax.set_title("Federated two-tower: privacy against utility (default world)")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def _fairness(args: argparse.Namespace, data: Path) -> None:
    """Test Recall@50 per country and per activity decile: content-only central vs the saved federated runs."""
    import numpy as np
    import pyarrow.parquet as pq

    from socialflywheel.federated.recsys import recall_by_group, score_rounds, train_central
    from socialflywheel.federated.twotower import LocalTraining

    users = pq.read_table(data / "users.parquet").to_pandas()
    decile = np.ceil(users["positives"].rank(pct=True) * 10).astype(int)
    kinds = {"activity decile": dict(zip(users["user_idx"], [f"d{d:02d}" for d in decile], strict=True))}
    if args.lake:
        from deltalake import DeltaTable

        country = DeltaTable(f"{args.lake}/silver/users").to_pyarrow_table(columns=["user_id", "country"]).to_pandas()
        by_id = dict(zip(country["user_id"], country["country"].fillna("unknown"), strict=True))
        kinds["country"] = {
            int(u): str(by_id.get(i, "unknown")) for u, i in zip(users["user_idx"], users["user_id"], strict=True)
        }
    central_lt = LocalTraining(lr=args.central_lr, optimizer=args.central_optimizer, batch_size=args.central_batch,
                               seed=args.seed)  # fmt: skip
    models = {"central-content-only": train_central(data, central_lt, epochs=args.central_epochs, post_ids=False)}
    lt = LocalTraining(lr=args.lr, epochs=args.local_epochs, seed=args.seed)
    for name in [v for v in args.variants.split(",") if v]:
        models[name] = score_rounds(data, Path(args.work) / "runs" / name, lt)
    rows = []
    for kind, group_of in kinds.items():
        tables = {name: recall_by_group(m["model"], data, group_of) for name, m in models.items()}
        for group in sorted(tables["central-content-only"]):
            row: dict[str, Any] = {"by": kind, "group": group, "users": tables["central-content-only"][group]["users"]}
            row |= {name: t[group]["recall_at_50"] for name, t in tables.items()}
            rows.append(row)
    emit(f"{args.out}_fairness", rows, extra={"data": str(data), "variants": list(models)})


def _data(args: argparse.Namespace) -> Path:
    if args.data:
        return Path(args.data)
    from bench.bench_recsys_quality import build_default_lake

    from socialflywheel.config import load_config
    from socialflywheel.lake.io import Lake
    from socialflywheel.recsys.prepare import prepare_shards

    work = Path(args.work)
    data = work / "data"
    if not (data / "meta.json").exists():
        root = build_default_lake(work / "work")
        cfg = load_config(None, [f"work_dir={work / 'work'}", f"lake.root={root}"])
        prepare_shards(Lake.from_config(cfg), data)
    return data


def main() -> None:
    """Run the central counterpart and the chosen federated variants; print the table, write the JSON."""
    from socialflywheel.federated.recsys import Plan, run_federated_twotower, score_rounds, train_central
    from socialflywheel.federated.twotower import LocalTraining

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", default="/tmp/bench-federated-recsys")
    p.add_argument("--data", default=None, help="a prepared dataset (default: the default simulation's)")
    p.add_argument(
        "--variants", default="fedavg,attack-fedavg,attack-median,attack-trimmed,int8,dp-eps8,dp-adaptive-eps8"
    )
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--fraction", type=float, default=0.05)
    p.add_argument("--local-epochs", type=int, default=5)
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--central-epochs", type=int, default=8)
    p.add_argument("--central-lr", type=float, default=3e-3, help="the central counterpart's own (tuned) step size")
    p.add_argument("--central-optimizer", default="adam")
    p.add_argument("--central-batch", type=int, default=512)
    p.add_argument("--clipping-norm", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="federated_recsys")
    p.add_argument("--central", action=argparse.BooleanOptionalAction, default=True, help="train the central rows")
    p.add_argument("--merge", action="store_true", help="keep the rows of --out's JSON for variants not run now")
    p.add_argument(
        "--fairness",
        action="store_true",
        help="per-group test recall of the runs saved under --work/runs and a content-only central model",
    )
    p.add_argument("--lake", default=None, help="--fairness: the lake whose silver.users gives each person's country")
    args = p.parse_args()
    data = _data(args)
    if args.fairness:
        _fairness(args, data)
        return
    lt = LocalTraining(lr=args.lr, epochs=args.local_epochs, seed=args.seed)
    rows: list[dict[str, Any]] = []
    central_lt = LocalTraining(
        lr=args.central_lr, optimizer=args.central_optimizer, batch_size=args.central_batch, seed=args.seed
    )
    base = 0.0  # the central row's test recall (from --out's JSON when --no-central --merge)
    if not args.central and args.merge and (RESULTS / f"{args.out}.json").exists():
        old = json.loads((RESULTS / f"{args.out}.json").read_text())["rows"]
        base = next((r["test_recall_at_50"] for r in old if r["variant"] == "central"), 0.0)
    for name, ids in (("central", True), ("central-content-only", False)) if args.central else ():
        t0 = time.perf_counter()
        central = train_central(data, central_lt, epochs=args.central_epochs, post_ids=ids, progress=True)
        base = base or central["test_recall_at_50"]
        val = [round(v, 4) for _, v in central["val_curve"]]
        rows.append({"variant": name, "test_recall_at_50": central["test_recall_at_50"],
                     "delta_vs_central": central["test_recall_at_50"] - base, "chosen": central["best_epoch"],
                     "val_curve": val, "seconds": round(time.perf_counter() - t0, 1)})  # fmt: skip
    for name in [v for v in args.variants.split(",") if v]:
        plan = Plan(rounds=args.rounds, fraction=args.fraction, local=lt, clipping_norm=args.clipping_norm,
                    **VARIANTS[name])  # type: ignore[arg-type]  # fmt: skip
        run = Path(args.work) / "runs" / name
        t1 = time.perf_counter()
        summary = run_federated_twotower(data, run, plan)
        scored = score_rounds(data, run, lt)
        last = [v for _, v in scored["val_curve"][-5:]]
        row = {
            "variant": name,
            "test_recall_at_50": scored["test_recall_at_50"],
            "delta_vs_central": scored["test_recall_at_50"] - base,
            "chosen": scored["best_round"],
            "val_recall_last5": sum(last) / len(last),
            "clients": summary["clients"],
            "per_round": summary["sampled_per_round"],
            "client_rounds_per_s": summary["client_rounds_per_s"],
            "bytes_per_client_round": summary["bytes_per_client_round"],
            "epsilon": summary["privacy"].get("epsilon"),
            "noise_multiplier": summary["privacy"].get("noise_multiplier"),
            "seconds": round(time.perf_counter() - t1, 1),
        }
        rows.append(row)
        print(row, flush=True)
    if args.merge and (RESULTS / f"{args.out}.json").exists():
        done = {r["variant"] for r in rows}
        old = json.loads((RESULTS / f"{args.out}.json").read_text())["rows"]
        rows = [r for r in old if r["variant"] not in done] + rows
    _plot(rows, RESULTS / f"{args.out}.png")
    emit(args.out, rows, extra={"data": str(data), "rounds": args.rounds, "fraction": args.fraction,
                               "local_epochs": args.local_epochs, "lr": args.lr, "seed": args.seed})  # fmt: skip


if __name__ == "__main__":
    main()

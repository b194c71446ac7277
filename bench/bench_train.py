"""Two-tower training throughput (examples/s): 1 and 2 CPU processes, and CUDA when one is visible.

Needs only torch, numpy and pyarrow (rich is used for the table when importable), so it also runs
on a GPU box without Spark or MLflow::

    python bench/bench_train.py                 # 200k planted examples, 2 epochs, CPU 1 and 2 procs (+ CUDA)
    python bench/bench_train.py --rows 50000    # smaller
    python bench/bench_train.py --id-rows 0     # without the 500k-id rows (row-sparse vs dense Adam)

Writes ``bench/results/train.json``. Each configuration runs in its own process (torchrun for two),
with one thread per process so that two processes on two cores do not oversubscribe them. The rows of the
product default (TrainConfig's time_prior, id_dropout and shard_order) are flagged and summed up against the
issue #17 target of 50k examples/s on this machine (``product_default`` in the JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
TARGET_EXAMPLES_PER_S = 50_000.0  # issue #17: the product default's training throughput on the 2-core CPU box
sys.path.insert(0, str(REPO / "lib"))


def _run(cmd: list[str], threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "PYTHONPATH": str(REPO / "lib")}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - t0
    return result


VARIANTS = {
    # name: (train_loop flags, shard layout). The towers alone (in-batch softmax + logQ):
    "towers": (["--no-time-prior", "--id-dropout", "0"], "random"),
    # the product default (train.time_prior=true, train.id_dropout=0.9, train.shard_order=random): every
    # (example, candidate) pair also gets the candidate's age and recent positives as of the example's hour;
    # the prior's MLP runs once per distinct (hour, item) pair of the batch that some row needs
    "towers+time_prior": (["--time-prior", "--id-dropout", "0.9"], "random"),
    # the same on time-block shards (train.shard_order=time): a batch spans fewer hours
    "towers+time_prior/time_blocks": (["--time-prior", "--id-dropout", "0.9"], "time"),
}


def _is_product_default(variant: str) -> bool:
    """Whether a variant trains what TrainConfig's defaults train (time prior, id dropout, shard order)."""
    from socialflywheel.config.recsys import TrainConfig

    defaults = TrainConfig()
    flags, layout = VARIANTS[variant]
    prior = "--time-prior" in flags
    dropout = float(flags[flags.index("--id-dropout") + 1])
    return prior == defaults.time_prior and dropout == defaults.id_dropout and layout == defaults.shard_order


def _product_default(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The product default's rows and its best CPU throughput as a share of the target."""
    mine = [r for r in rows if r["product_default"]]
    cpu = [r for r in mine if r["device"] == "cpu"]
    if not mine:
        return None
    best = max(cpu or mine, key=lambda r: r["examples_per_s"])
    return {
        "model": best["model"],
        "target_examples_per_s": TARGET_EXAMPLES_PER_S,
        "best_examples_per_s": best["examples_per_s"],
        "best_device": best["device"],  # the CPU's best when a CPU row exists (the target is for this CPU box)
        "best_processes": best["processes"],
        "ratio_to_target": best["examples_per_s"] / TARGET_EXAMPLES_PER_S,
        "rows": [
            {k: r[k] for k in ("device", "processes", "examples_per_s", "ratio_to_target", "wall_s")} for r in mine
        ],
    }


def _train_cmd(
    data: Path, out: Path, *, nproc: int, device: str, args: argparse.Namespace, threads: int, variant: str
) -> list[str]:
    entry = ["-m", "socialflywheel.recsys.core.train_cli"]
    launcher = [sys.executable, *entry]
    if nproc > 1:
        launcher = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(nproc),
            *entry,
        ]
    return [
        *launcher,
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        str(args.epochs),
        "--batch-size",
        str(args.batch_size),
        "--embedding-dim",
        str(args.dim),
        "--device",
        device,
        "--num-threads",
        str(threads),
        "--no-val",
        "--patience",
        "0",
        "--checkpoint-every-steps",
        "0",
        "--checkpoint-every-s",
        "0",
        *VARIANTS[variant][0],
    ]


def _widen(data: Path, out: Path, ids: int) -> Path:
    """A copy of a planted data set whose meta declares ``ids`` users and posts: the same rows, id tables that wide.

    What a step costs as the world grows, with everything else held: a 10M-event lake has ~500k of each.
    """
    import shutil

    shutil.copytree(data, out)
    meta = json.loads((out / "meta.json").read_text())
    meta["item_counts"] = meta["item_counts"] + [0] * (ids - meta["num_items"])
    meta.update(num_users=ids, num_items=ids, num_authors=max(meta["num_authors"], ids // 10))
    (out / "meta.json").write_text(json.dumps(meta))
    return out


def _wide_rows(data: Path, tmp: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """The product default, one process and thread, on id tables ``--id-rows`` wide: sparse against dense Adam."""
    wide = _widen(data, tmp / "data-wide", args.id_rows)
    variant = "towers+time_prior"
    rows = []
    for sparse in (True, False):
        out = tmp / f"run-wide-{sparse}"
        cmd = _train_cmd(wide, out, nproc=1, device="cpu", args=args, threads=1, variant=variant)
        cmd += ["--epochs", "1", "--sparse-ids" if sparse else "--no-sparse-ids"]  # the last --epochs wins
        print(f"{variant} with {args.id_rows:,} ids, sparse={sparse} ...", file=sys.stderr, flush=True)
        r = _run(cmd, 1)
        rows.append(
            {
                "model": f"{variant}/{args.id_rows // 1000}k ids/{'sparse' if sparse else 'dense'} Adam",
                "shards": "random",
                "device": "cpu",
                "processes": 1,
                "threads_per_proc": 1,
                "examples": json.loads((wide / "meta.json").read_text())["train_rows"],
                "epochs": 1,
                "global_batch": args.batch_size,
                "steps": r["global_steps"],
                "examples_per_s": float(r["examples_per_s"]),
                "wall_s": float(r["wall_s"]),
                "product_default": False,  # the table width is the bench's, not the product's (which is sparse)
                "ratio_to_target": float(r["examples_per_s"]) / TARGET_EXAMPLES_PER_S,
            }
        )
    return rows


def _table(rows: list[dict[str, Any]]) -> None:
    cols = list(rows[0])
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title="two-tower training throughput")
        for c in cols:
            table.add_column(c, justify="right")
        for r in rows:
            table.add_row(*[f"{r[c]:,.2f}" if isinstance(r[c], float) else str(r[c]) for c in cols])
        Console(width=200).print(table)
    except ImportError:
        print("\t".join(cols))
        for r in rows:
            print("\t".join(str(r[c]) for c in cols))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=200_000, help="approximate training examples")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--procs", default="1,2", help="CPU process counts to try")
    p.add_argument("--no-cuda", action="store_true")
    p.add_argument("--variants", default=",".join(VARIANTS), help=f"model variants to time: {', '.join(VARIANTS)}")
    p.add_argument(
        "--id-rows",
        type=int,
        default=500_000,
        help="also time the product default, one process, with id tables this wide (users and posts; 10% as many "
        "authors), row-sparse against dense Adam; 0: skip",
    )
    p.add_argument("--out", default=str(RESULTS / "train.json"))
    args = p.parse_args()

    import torch

    from socialflywheel.recsys.core.synthetic import make_planted_dataset

    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()[0]  # the box is shared: a busy one slows every row alike
    with tempfile.TemporaryDirectory() as tmp:
        users = max(1000, args.rows // 28)  # 40 interactions per user, 70% of them in training
        datasets, metas = {}, {}
        for layout in sorted({VARIANTS[v][1] for v in args.variants.split(",")}):
            datasets[layout] = Path(tmp) / f"data-{layout}"
            metas[layout] = make_planted_dataset(
                datasets[layout],
                num_users=users,
                num_items=max(2000, users // 5),
                interactions_per_user=40,
                num_topics=20,
                num_authors=2000,
                num_hashtags=1000,
                user_feature_dim=32,
                item_feature_dim=64,
                shards=max(8, round(args.rows * 0.7 / 4096)),  # blocks of ~4096 rows, as prepare writes them
                rows_per_group=8192,
                time_blocks=layout == "time",
                seed=0,
            )
        cores = os.cpu_count() or 1
        configs = [("cpu", int(n)) for n in args.procs.split(",")]
        if torch.cuda.is_available() and not args.no_cuda:
            configs.append(("cuda", 1))
        for variant in args.variants.split(","):
            for device, nproc in configs:
                threads = max(1, cores // nproc) if device == "cuda" else 1
                out = Path(tmp) / f"run-{variant}-{device}-{nproc}"
                layout = VARIANTS[variant][1]
                data, meta = datasets[layout], metas[layout]
                cmd = _train_cmd(data, out, nproc=nproc, device=device, args=args, threads=threads, variant=variant)
                print(f"{variant} on {device} x{nproc} ...", file=sys.stderr, flush=True)
                r = _run(cmd, threads)
                rows.append(
                    {
                        "model": variant,
                        "shards": layout,
                        "device": r["device"].split(":")[0],
                        "processes": nproc,
                        "threads_per_proc": threads,
                        "examples": meta.train_rows,
                        "epochs": args.epochs,
                        "global_batch": args.batch_size,
                        "steps": r["global_steps"],
                        "examples_per_s": float(r["examples_per_s"]),
                        "wall_s": float(r["wall_s"]),
                        "product_default": _is_product_default(variant),
                        "ratio_to_target": float(r["examples_per_s"]) / TARGET_EXAMPLES_PER_S,
                    }
                )
        if args.id_rows and "random" in datasets:
            rows += _wide_rows(datasets["random"], Path(tmp), args)
    _table(rows)
    product = _product_default(rows)
    if product is not None:
        print(
            f"product default ({product['model']}): {product['rows'][0]['examples_per_s']:,.0f} .. "
            f"{max(r['examples_per_s'] for r in product['rows']):,.0f} examples/s, "
            f"best {product['ratio_to_target']:.2f} x the {TARGET_EXAMPLES_PER_S:,.0f}/s target",
            file=sys.stderr,
        )
    payload = {
        "benchmark": "train",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "load_avg_1m": [load_before, os.getloadavg()[0]],
        },
        "command": " ".join(["python", "bench/bench_train.py", *sys.argv[1:]]),
        "product_default": product,
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(payload, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

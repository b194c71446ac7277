r"""The training loop's command line (``python -m socialflywheel.recsys.core.train_cli``, also under torchrun).

    torchrun --nproc_per_node 2 -m socialflywheel.recsys.core.train_cli \
        --data /path/prepared --out /path/run --epochs 5 --batch-size 1024

Every default is :class:`~socialflywheel.config.recsys.TrainConfig`'s; rank 0 prints the result as JSON.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
from dataclasses import asdict
from pathlib import Path

from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.train_loop import DEFAULTS, train


def parser() -> argparse.ArgumentParser:
    """The command line's arguments (defaults from :class:`TrainConfig`)."""
    p = argparse.ArgumentParser(description="two-tower training on prepared shards")
    p.add_argument("--data", required=True, help="prepared dataset root (meta.json, train/, items.parquet, val/)")
    p.add_argument("--out", required=True, help="run directory (checkpoints, model.pt)")
    p.add_argument("--epochs", type=int, default=DEFAULTS.epochs)
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    p.add_argument("--lr", type=float, default=DEFAULTS.lr)
    p.add_argument("--embedding-dim", type=int, default=DEFAULTS.embedding_dim)
    p.add_argument("--hidden-dim", type=int, default=DEFAULTS.hidden_dim)
    p.add_argument("--temperature", type=float, default=DEFAULTS.temperature)
    p.add_argument("--random-negatives", type=int, default=DEFAULTS.random_negatives)
    p.add_argument("--patience", type=int, default=DEFAULTS.patience)
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--device", default=DEFAULTS.device, choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", default=DEFAULTS.amp, choices=["auto", "off", "bf16"])
    p.add_argument("--checkpoint-every-steps", type=int, default=DEFAULTS.checkpoint_every_steps)
    p.add_argument("--checkpoint-every-s", type=float, default=DEFAULTS.checkpoint_every_s)
    p.add_argument("--examples-per-epoch", type=int, default=DEFAULTS.examples_per_epoch)
    p.add_argument("--shuffle-buffer", type=int, default=DEFAULTS.shuffle_buffer)
    p.add_argument("--num-threads", type=int, default=None, help="CPU threads per process")
    p.add_argument("--no-val", action="store_true", help="skip validation (throughput runs)")
    p.add_argument(
        "--time-prior",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.time_prior,
        help="learn the time prior (time-split data with creation times)",
    )
    p.add_argument(
        "--id-dropout", type=float, default=DEFAULTS.id_dropout, help="share of examples trained without the item id"
    )
    p.add_argument(
        "--sparse-ids",
        action=argparse.BooleanOptionalAction,
        default=DEFAULTS.sparse_ids,
        help="row-sparse gradients and a lazy Adam for the id tables",
    )
    return p


def main(argv: list[str] | None = None) -> None:
    """Command line: train on ``<data>/train`` with validation on ``<data>/val``; rank 0 prints JSON."""
    faulthandler.enable()  # a rank that dies in native code (SIGSEGV) prints its Python stack to stderr
    a = parser().parse_args(argv)
    root = Path(a.data)
    meta = DatasetMeta.load(root)
    val_fn = None
    if not a.no_val and (root / "val").exists() and int(os.environ.get("RANK", "0")) == 0:
        from socialflywheel.recsys.core.embed import make_val_fn

        val_fn = make_val_fn(root, meta)
    hparams = {k: v for k, v in vars(a).items() if k not in ("data", "out", "no_val")}  # named as train()'s
    result = train(
        shards_dir=root / "train", meta=meta, out_dir=a.out, items_path=root / "items.parquet", val_fn=val_fn, **hparams
    )
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()

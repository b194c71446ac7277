"""The GPU training paths against CPU oracles: the CUDA training step, bf16 autocast and NCCL DDP.

Marked ``gpu``: skipped where no CUDA device is visible (CI, this project's 2-core machine), run whenever one is
(``pytest -m gpu`` on a lent GPU). Each compares with the CPU result of the same code, not with a constant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.embed import make_val_fn
from socialflywheel.recsys.core.train_loop import train

pytestmark = pytest.mark.gpu

COMMON = {"epochs": 3, "batch_size": 256, "seed": 7, "patience": 0, "num_threads": 1}


def test_cuda_training_matches_the_cpu_run(planted: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    """The same data, seed and schedule on CUDA (fp32) and on the CPU: validation Recall@50 within 0.02, and
    both far above the planted data's random-ranking level."""
    root, meta = planted
    runs = {
        device: train(
            shards_dir=root / "train",
            meta=meta,
            out_dir=tmp_path / device,
            device=device,
            amp="off",
            val_fn=make_val_fn(root, meta),
            **COMMON,
        )
        for device in ("cpu", "cuda")
    }
    assert runs["cuda"].device.startswith("cuda") and runs["cpu"].device == "cpu"
    assert abs(runs["cuda"].best_metric - runs["cpu"].best_metric) <= 0.02
    assert runs["cuda"].best_metric > 3 * 50 / meta.num_items


def test_cuda_bf16_autocast_stays_close_to_fp32(planted: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    import torch

    if not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    root, meta = planted
    fp32, bf16 = (
        train(
            shards_dir=root / "train",
            meta=meta,
            out_dir=tmp_path / amp,
            device="cuda",
            amp=amp,
            val_fn=make_val_fn(root, meta),
            **COMMON,
        )
        for amp in ("off", "bf16")
    )
    assert abs(bf16.best_metric - fp32.best_metric) <= 0.03


def test_nccl_ddp_on_two_gpus_matches_one_process(planted: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    """torchrun with 2 ranks on 2 GPUs (NCCL): the same global steps and Recall@50 within 0.01 of one process."""
    import torch

    if torch.cuda.device_count() < 2:
        pytest.skip("NCCL DDP needs 2 GPUs (NCCL refuses two ranks on one device)")
    root, meta = planted
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "socialflywheel.recsys.core.train_cli", "--data", str(root), "--out", str(tmp_path / "ddp"),
        "--device", "cuda", "--amp", "off", "--epochs", "3", "--batch-size", "256", "--seed", "7", "--patience", "0",
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    two = json.loads(proc.stdout.strip().splitlines()[-1])
    one = train(
        shards_dir=root / "train", meta=meta, out_dir=tmp_path / "one", device="cuda", amp="off",
        val_fn=make_val_fn(root, meta), **COMMON,
    )  # fmt: skip
    assert two["world_size"] == 2 and two["global_steps"] == one.global_steps
    assert abs(float(two["best_metric"]) - one.best_metric) <= 0.01

"""Two real processes (torchrun, gloo, CPU): same quality as one process, no hang on uneven shards."""

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

pytestmark = pytest.mark.distributed


def _torchrun(data: Path, out: Path, *args: str, timeout: int = 240) -> dict[str, object]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("RANK", None)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "socialflywheel.recsys.core.train_cli",
        "--data",
        str(data),
        "--out",
        str(out),
        "--num-threads",
        "1",
        *args,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_two_processes_match_one_process_at_the_same_global_batch(
    planted: tuple[Path, DatasetMeta], tmp_path: Path
) -> None:
    root, meta = planted
    common = ["--epochs", "3", "--batch-size", "256", "--seed", "7", "--patience", "0"]
    two = _torchrun(root, tmp_path / "ddp", *common)
    one = train(  # the same arguments the command line passes (items_path: the time prior's catalogue)
        shards_dir=root / "train",
        meta=meta,
        items_path=root / "items.parquet",
        out_dir=tmp_path / "single",
        epochs=3,
        batch_size=256,
        seed=7,
        patience=0,
        num_threads=1,
        val_fn=make_val_fn(root, meta),
    )
    assert two["world_size"] == 2 and two["global_steps"] == one.global_steps
    assert abs(float(two["best_metric"]) - one.best_metric) <= 0.01  # type: ignore[arg-type]


def test_uneven_shards_do_not_hang_ddp(uneven: tuple[Path, DatasetMeta], tmp_path: Path) -> None:
    root, meta = uneven
    result = _torchrun(root, tmp_path / "uneven", "--epochs", "2", "--batch-size", "64", "--no-val", timeout=120)
    assert result["global_steps"] == 2 * (meta.train_rows // 64)
    assert (tmp_path / "uneven" / "model.pt").exists()

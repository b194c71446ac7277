"""Two real processes (torchrun, gloo, CPU): same quality as one process, no hang on uneven shards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

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


Grads = list[tuple[torch.Tensor, torch.Tensor] | None]  # per rank: (rows looked up, their gradient rows) or none
Case = list[tuple[tuple[int, int], Grads]]  # per table: its shape and every rank's gradient


def _sparse_average_worker(rank: int, world: int, store: str, cases: list[Case], out: str) -> None:
    import torch.distributed as dist

    from socialflywheel.recsys.core.distributed import average_sparse_grads

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    results = []
    for case in cases:
        params: list[torch.Tensor] = []
        for shape, grads in case:
            p = torch.nn.Parameter(torch.zeros(shape))
            grad = grads[rank]
            # an embedding's gradient: one (row, values) entry per lookup, rows repeated, not coalesced
            p.grad = None if grad is None else torch.sparse_coo_tensor(grad[0][None, :], grad[1], shape)
            params.append(p)
        average_sparse_grads(params)
        results.append([p.grad.to_dense() if p.grad is not None else None for p in params])
    torch.save(results, f"{out}.{rank}")
    dist.destroy_process_group()


def test_sparse_gradients_average_like_dense_ddp(tmp_path: Path) -> None:
    """Random row-sparse gradients (different rows and counts per rank, a rank with none, repeated rows,
    empty ones) come back on every rank as the average of every rank's dense gradient, as DDP would give."""
    import torch.multiprocessing as mp

    world = 2
    gen = torch.Generator().manual_seed(11)
    cases: list[Case] = []
    for _ in range(12):
        case: Case = []
        for shape in [(50, 4), (7, 3), (300, 2)]:
            grads: Grads = []
            for _rank in range(world):
                if torch.rand(1, generator=gen).item() < 0.15:
                    grads.append(None)
                    continue
                k = int(torch.randint(0, 2 * shape[0], (1,), generator=gen))
                rows = torch.randint(0, shape[0], (k,), generator=gen)
                grads.append((rows, torch.randn((k, shape[1]), generator=gen)))
            case.append((shape, grads))
        cases.append(case)
    out = str(tmp_path / "res")
    mp.spawn(_sparse_average_worker, args=(world, str(tmp_path / "store"), cases, out), nprocs=world, join=True)
    per_rank = [torch.load(f"{out}.{r}") for r in range(world)]
    for c, case in enumerate(cases):
        for j, (shape, grads) in enumerate(case):
            want = torch.zeros(shape)
            for g in grads:
                if g is not None:
                    want.index_add_(0, g[0], g[1] / world)
            for r in range(world):
                got = per_rank[r][c][j]
                if got is None:  # left as it was only where no rank had a gradient row
                    assert grads[r] is None and all(g is None or len(g[0]) == 0 for g in grads), (c, j, r)
                else:
                    assert torch.allclose(got, want, atol=1e-6), (c, j, r)

"""How the training loop is started: in this process, in N local processes, or on a Spark cluster.

One interface, :func:`launch`, for the three launchers ``train.launcher`` / ``train.nproc`` choose:

- one process: :func:`~socialflywheel.recsys.core.train_loop.train` runs here, logging each epoch as it ends;
- ``nproc > 1`` on this host: ``torch.distributed.elastic`` (the library behind ``torchrun``) spawns the
  processes (fresh interpreters, never a fork of this one, which may hold a Sail session), runs :func:`_worker`
  in each with ``RANK``/``WORLD_SIZE`` set, and returns every rank's result; rank 0 validates;
- ``distributor``: Spark's ``TorchDistributor`` on the executors (:mod:`socialflywheel.recsys.distributor`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from socialflywheel.recsys.core.data import DatasetMeta

if TYPE_CHECKING:
    from socialflywheel.recsys.core.model import TwoTower

LogFn = Callable[[int, dict[str, float]], None]


def _val_fn(kwargs: dict[str, Any], validate: bool) -> Callable[[TwoTower], dict[str, float]] | None:
    from socialflywheel.recsys.core.embed import make_val_fn

    if not validate:
        return None
    data = Path(kwargs["meta"]).parent
    return make_val_fn(data, DatasetMeta.load(data))


def _worker(kwargs: dict[str, Any], validate: bool) -> dict[str, Any]:
    """Entry of each local process: train (rank 0 validates); every rank returns its result."""
    from socialflywheel.recsys.core.train_loop import train

    rank = int(os.environ.get("RANK", "0"))
    return asdict(train(**kwargs, val_fn=_val_fn(kwargs, validate and rank == 0)))


def local_processes(kwargs: dict[str, Any], *, nproc: int, validate: bool) -> dict[str, Any]:
    """Train in ``nproc`` processes on this host (``torch.distributed.elastic``, c10d rendezvous on a free port).

    Returns:
        Rank 0's result.
    """
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=uuid.uuid4().hex,
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        start_method="spawn",
    )
    results = elastic_launch(config, _worker)(kwargs, validate)
    return dict(results[0])


def launch(
    kwargs: dict[str, Any],
    *,
    launcher: str,
    nproc: int,
    validate: bool,
    log_fn: LogFn,
    distributor: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Run one training (or refit) with the configured launcher; per-epoch records go to ``log_fn``.

    Args:
        kwargs: Arguments of :func:`~socialflywheel.recsys.core.train_loop.train`.
        launcher: ``torchrun`` (this host: one process, or ``nproc`` local processes) or ``distributor``.
        nproc: Processes.
        validate: Validate after each epoch on ``<dir of meta>/val`` (rank 0).
        log_fn: Called with ``(epoch, record)``: as each epoch ends in one process, after the run otherwise.
        distributor: Starts the TorchDistributor run (it needs the lake's shared storage; see train_job).

    Returns:
        Rank 0's :class:`~socialflywheel.recsys.core.train_loop.TrainResult` as a dict.
    """
    from socialflywheel.recsys.core.train_loop import train

    if launcher == "distributor":
        if distributor is None:
            raise ValueError("launcher distributor needs the distributor start")
        result = distributor()
    elif nproc > 1:
        result = local_processes(kwargs, nproc=nproc, validate=validate)
    else:
        return asdict(train(**kwargs, val_fn=_val_fn(kwargs, validate), log_fn=log_fn))
    for record in result.get("history", []):
        log_fn(int(record["epoch"]), record)
    return result

"""The cluster path: the same ``train`` under Spark's ``TorchDistributor`` (classic Spark only).

``TorchDistributor`` starts ``num_processes`` training processes on the executors (or on the
driver with ``local_mode=True``) and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT`` in each, exactly as torchrun does, so :func:`train` joins the process group the
same way (``nccl`` on GPU executors, ``gloo`` on CPU ones). The prepared shards and ``out_dir``
must be on storage every executor can read (the Parquet shards are read by path with PyArrow).
Sail has no ``pyspark.ml``, so the embedded default uses torchrun instead::

    from socialflywheel.recsys.distributor import train_with_distributor
    result = train_with_distributor(num_processes=8, use_gpu=True, train_kwargs={
        "shards_dir": "/dbfs/prepared/train", "meta": "/dbfs/prepared/meta.json",
        "out_dir": "/dbfs/runs/two_tower/42", "epochs": 8, "batch_size": 8192})
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any


def _entry(train_kwargs: dict[str, Any]) -> dict[str, Any]:
    """Runs in each distributed process; only rank 0's return value comes back to the driver."""
    from socialflywheel.recsys.core.train_loop import train

    return asdict(train(**train_kwargs))


def train_with_distributor(
    *, num_processes: int, use_gpu: bool, train_kwargs: dict[str, Any], local_mode: bool = False
) -> dict[str, Any]:
    """Run :func:`~socialflywheel.recsys.core.train_loop.train` with ``pyspark.ml.torch.distributor.TorchDistributor``.

    Args:
        num_processes: Training processes (one per GPU with ``use_gpu``).
        use_gpu: Ask Spark for GPU task resources (``spark.task.resource.gpu.amount``).
        train_kwargs: Keyword arguments of ``train`` (paths must be visible to every executor).
        local_mode: Start the processes on the driver instead of the executors.

    Returns:
        Rank 0's :class:`~socialflywheel.recsys.core.train_loop.TrainResult` as a dict.
    """
    from pyspark.ml.torch.distributor import TorchDistributor

    distributor = TorchDistributor(num_processes=num_processes, local_mode=local_mode, use_gpu=use_gpu)
    result = distributor.run(_entry, train_kwargs)
    if result is None:
        raise RuntimeError("TorchDistributor returned nothing from rank 0")
    return dict(result)

"""The cluster path: the same ``train`` under Spark's ``TorchDistributor`` (classic Spark only).

``TorchDistributor`` starts ``num_processes`` training processes on the executors (or on the
driver with ``local_mode=True``) and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``
and ``MASTER_PORT`` in each, exactly as torchrun does, so :func:`train` joins the process group the
same way (``nccl`` on GPU executors, ``gloo`` on CPU ones). Sail has no ``pyspark.ml``, so the
embedded default uses torchrun instead.

Executors do not see the driver's disk. With ``shared_dir`` (``train.shared_dir``: an ``s3://``/``s3a://``
folder, or a filesystem every node mounts) the driver uploads the prepared shards (and, for the refit, the
selected model) there; each training process copies them to its own scratch folder, trains, and rank 0
uploads the model it wrote; the driver downloads it for evaluation and registration. Nothing is read
from the driver's ``/tmp`` by an executor::

    from socialflywheel.recsys.distributor import train_with_distributor
    result = train_with_distributor(num_processes=8, use_gpu=True, shared_dir="s3a://bucket/scratch/run-42",
        train_kwargs={"shards_dir": "/work/prepared/train", "meta": "/work/prepared/meta.json",
                      "items_path": "/work/prepared/items.parquet", "out_dir": "/work/runs/42", "epochs": 8})
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from socialflywheel.lake.storage import is_remote, join, locate

UPLOADED_MARKER = "_UPLOADED"


@dataclass(frozen=True)
class Shipment:
    """What crosses between the driver and the training processes through shared storage.

    ``inputs`` maps folders on the driver to the URIs they were uploaded to (every train argument under one
    of those folders is rewritten to the process's local copy); ``output`` is where rank 0 puts ``out_dir``.
    """

    inputs: dict[str, str] = field(default_factory=dict)
    output: str | None = None


def _copy_tree(src_uri: str, dst_uri: str) -> None:
    import pyarrow.fs as pa_fs

    src, dst = locate(src_uri), locate(dst_uri)
    if not is_remote(dst_uri):  # copy_files makes the sub-folders it meets, not the destination itself
        dst.fs.create_dir(dst.path, recursive=True)
    pa_fs.copy_files(src.path, dst.path, source_filesystem=src.fs, destination_filesystem=dst.fs)


def _exists(uri: str) -> bool:
    import pyarrow.fs as pa_fs

    loc = locate(uri)
    return bool(loc.fs.get_file_info(loc.path).type != pa_fs.FileType.NotFound)


def upload_dir(local: Path, uri: str) -> str:
    """Copy a folder to ``uri`` once (a marker records a complete upload, so the refit reuses the shards)."""
    if not _exists(join(uri, UPLOADED_MARKER)):
        _copy_tree(str(local), uri)
        loc = locate(join(uri, UPLOADED_MARKER))
        with loc.fs.open_output_stream(loc.path) as out:
            out.write(b"")
    return uri


def _rewrite(value: object, mapping: dict[str, str]) -> object:
    """``value`` with a leading folder of ``mapping`` replaced (a string argument only)."""
    if not isinstance(value, str):
        return value
    for old, new in mapping.items():
        if value == old or value.startswith(old.rstrip("/") + "/"):
            return new + value[len(old.rstrip("/")) :]
    return value


def _entry(train_kwargs: dict[str, Any], shipment: Shipment, validate: bool) -> dict[str, Any]:
    """Runs in each distributed process; only rank 0's return value comes back to the driver."""
    from socialflywheel.recsys.core.data import DatasetMeta
    from socialflywheel.recsys.core.embed import make_val_fn
    from socialflywheel.recsys.core.train_loop import train

    rank = int(os.environ.get("RANK", "0"))
    with tempfile.TemporaryDirectory(prefix="flywheel-train-") as scratch:
        local: dict[str, str] = {}
        for i, (driver_dir, uri) in enumerate(shipment.inputs.items()):
            _copy_tree(uri, f"{scratch}/in-{i}")
            local[driver_dir] = f"{scratch}/in-{i}"
        out_driver = str(train_kwargs["out_dir"])
        if shipment.output is not None:
            local[out_driver] = f"{scratch}/out"
        kwargs: dict[str, Any] = {k: _rewrite(v, local) for k, v in train_kwargs.items()}
        data = Path(kwargs["meta"]).parent
        val_fn = make_val_fn(data, DatasetMeta.load(data)) if validate and rank == 0 else None
        result = asdict(train(**kwargs, val_fn=val_fn))
        if rank == 0 and shipment.output is not None:
            _copy_tree(f"{scratch}/out", shipment.output)
        result["model_path"] = _rewrite(result["model_path"], {v: k for k, v in local.items()})
        result["read_from"] = sorted(shipment.inputs.values()) or sorted({str(v) for v in train_kwargs.values()})
        result["host"] = os.uname().nodename
        return result


def train_with_distributor(
    *,
    num_processes: int,
    use_gpu: bool,
    train_kwargs: dict[str, Any],
    validate: bool = True,
    shared_dir: str | None = None,
    inputs: tuple[Path, ...] = (),
    local_mode: bool = False,
) -> dict[str, Any]:
    """Run :func:`~socialflywheel.recsys.core.train_loop.train` with ``pyspark.ml.torch.distributor.TorchDistributor``.

    Args:
        num_processes: Training processes (one per GPU with ``use_gpu``).
        use_gpu: Ask Spark for GPU task resources (``spark.task.resource.gpu.amount``).
        train_kwargs: Keyword arguments of ``train`` (driver paths).
        validate: Rank 0 validates after each epoch on ``<dir of meta>/val`` (early stopping, best epoch).
        shared_dir: Storage every process reaches (``s3://...``): ``inputs`` are uploaded there and the model
            comes back through it. None: the paths in ``train_kwargs`` must be visible to every executor.
        inputs: Driver folders the training reads (the prepared root; the selected model for a refit).
        local_mode: Start the processes on the driver instead of the executors.

    Returns:
        Rank 0's :class:`~socialflywheel.recsys.core.train_loop.TrainResult` as a dict, with ``model_path`` on
        the driver, ``read_from`` (where the processes read their data) and ``host``.
    """
    from pyspark.ml.torch.distributor import TorchDistributor

    shipment = Shipment()
    if shared_dir is not None:
        uploads = {str(d): upload_dir(d, join(shared_dir, d.name)) for d in inputs}
        shipment = Shipment(uploads, join(shared_dir, f"out-{Path(train_kwargs['out_dir']).name}"))
    distributor = TorchDistributor(num_processes=num_processes, local_mode=local_mode, use_gpu=use_gpu)
    result = distributor.run(_entry, train_kwargs, shipment, validate)
    if result is None:
        raise RuntimeError("TorchDistributor returned nothing from rank 0")
    if shipment.output is not None:
        _copy_tree(shipment.output, str(train_kwargs["out_dir"]))
    return dict(result)

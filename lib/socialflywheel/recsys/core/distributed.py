"""Process-group plumbing: one helper picks device and backend, a differentiable all-gather."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

T = TypeVar("T")


@dataclass(frozen=True)
class DistEnv:
    """Where this process runs and who its peers are."""

    rank: int
    local_rank: int
    world_size: int
    device: torch.device
    backend: str

    @property
    def is_main(self) -> bool:
        """True on rank 0 (the one that writes checkpoints and validates)."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True when a process group with more than one rank is in use."""
        return self.world_size > 1


def pick_device(device: str, local_rank: int = 0) -> tuple[torch.device, str]:
    """Choose ``(device, backend)``: ``cuda``+``nccl`` when asked for or visible (``auto``), else ``cpu``+``gloo``.

    Args:
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        local_rank: This process's GPU on the host.

    Returns:
        The torch device and the process-group backend to use with it.
    """
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("device='cuda' was requested but no CUDA device is visible")
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        return torch.device("cuda", local_rank % torch.cuda.device_count()), "nccl"
    return torch.device("cpu"), "gloo"


def init_distributed(device: str = "auto") -> DistEnv:
    """Read torchrun's ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` and join the process group when world > 1."""
    rank = int(os.environ.get("RANK", "0"))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev, backend = pick_device(device, local)
    if world > 1 and not dist.is_initialized():
        kwargs: dict[str, Any] = {"backend": backend, "rank": rank, "world_size": world}
        if dev.type == "cuda":
            kwargs["device_id"] = dev
        dist.init_process_group(**kwargs)
    return DistEnv(rank=rank, local_rank=local, world_size=world, device=dev, backend=backend)


def shutdown(env: DistEnv) -> None:
    """Leave the process group (a no-op for a single process)."""
    if env.distributed and dist.is_initialized():
        dist.destroy_process_group()


class _GatherWithGrad(torch.autograd.Function):
    """All-gather whose backward all-reduces the gradient and keeps this rank's slice.

    Written with ``all_reduce`` only, which every backend (gloo included) supports.
    """

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        world, rank = dist.get_world_size(), dist.get_rank()
        parts = [torch.empty_like(tensor) for _ in range(world)]
        dist.all_gather(parts, tensor.contiguous())
        ctx.rank, ctx.rows = rank, tensor.shape[0]
        return torch.cat(parts, dim=0)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> torch.Tensor:
        grad = grads[0].contiguous().clone()
        dist.all_reduce(grad)
        return grad[ctx.rank * ctx.rows : (ctx.rank + 1) * ctx.rows]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's ``tensor`` (equal shapes), letting gradients flow back to each owner."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    out: torch.Tensor = _GatherWithGrad.apply(tensor)
    return out


def gather_plain(tensor: torch.Tensor) -> torch.Tensor:
    """Concatenate every rank's ``tensor`` without gradients (ids, weights)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, tensor.contiguous())
    return torch.cat(parts, dim=0)


def broadcast_object(obj: T, env: DistEnv) -> T:
    """Send rank 0's picklable ``obj`` to every rank."""
    if not env.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def average_sparse_grads(params: Sequence[torch.Tensor]) -> None:
    """Average the id tables' row-sparse gradients over every rank, in place, with dense all-gathers only.

    DDP's reducer hands sparse gradients to the backend's sparse all-reduce; on gloo that path is rarely
    exercised, and a CI run lost a rank to SIGSEGV inside a two-process training step with sparse id tables.
    Here one all-gather shares every table's row count, then each table's coalesced rows (indices and values,
    padded to the largest count) go through ``all_gather`` on plain dense tensors, the collective every backend
    has, in one fixed order on the calling thread; the gathered sum divided by the world size is DDP's average.
    A table without a gradient on some rank (not read there) counts as zero rows; on every rank: stays None.
    """
    if not params or not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    world = dist.get_world_size()
    device = params[0].device
    grads = [p.grad.coalesce() if p.grad is not None else None for p in params]
    counts = gather_plain(torch.tensor([g.indices().shape[1] if g is not None else 0 for g in grads], device=device))
    counts = counts.reshape(world, len(params))
    for j, (p, g) in enumerate(zip(params, grads, strict=True)):
        most = int(counts[:, j].max())
        if most == 0:
            continue
        width = p[0].numel()
        pad_idx = torch.zeros(most, dtype=torch.long, device=device)
        pad_val = torch.zeros((most, width), dtype=p.dtype, device=device)
        if g is not None:
            pad_idx[: g.indices().shape[1]] = g.indices()[0]
            pad_val[: g.indices().shape[1]] = g.values().reshape(-1, width)
        all_idx = gather_plain(pad_idx).reshape(world, most)
        all_val = gather_plain(pad_val).reshape(world, most, width)
        keep = torch.arange(most, device=device)[None, :] < counts[:, j, None]
        p.grad = torch.sparse_coo_tensor(all_idx[keep][None, :], all_val[keep] / world, p.shape).coalesce()


def ddp_ignore(model: torch.nn.Module, params: Sequence[torch.Tensor]) -> None:
    """Leave ``params`` out of DDP's reducer (their gradients are averaged by :func:`average_sparse_grads`).

    Call before wrapping ``model`` in DDP. DDP no longer broadcasts these at construction either, so rank 0's
    values are broadcast here: every rank starts from the same tables whatever its seed or checkpoint.
    """
    wanted = {id(p) for p in params}
    names = [name for name, p in model.named_parameters() if id(p) in wanted]
    DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(model, names)  # type: ignore[no-untyped-call]
    for p in params:
        with torch.no_grad():
            dist.broadcast(p.data, src=0)

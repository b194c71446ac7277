"""Atomic training checkpoints: model, optimizer, loop position, RNG states and best metric."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

import torch


class Stateful(Protocol):
    """An optimizer as a checkpoint sees it."""

    def state_dict(self) -> dict[str, Any]: ...  # noqa: D102

    def load_state_dict(self, state: dict[str, Any]) -> None: ...  # noqa: D102


def save_checkpoint(path: str | Path, *, model: torch.nn.Module, optimizer: Stateful, state: dict[str, Any]) -> None:
    """Write a checkpoint to ``path`` atomically (a temporary file, then ``os.replace``).

    Args:
        path: Destination (``checkpoint.pt``).
        model: The unwrapped model.
        optimizer: Its optimizer.
        state: Loop position and bookkeeping (epoch, step in epoch, best metric, history ...).
    """
    p = Path(path)
    tmp = p.with_name(p.name + f".tmp{os.getpid()}")
    blob = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "state": state,
        "torch_rng": torch.random.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    torch.save(blob, str(tmp))
    os.replace(tmp, p)


def load_checkpoint(
    path: str | Path, *, model: torch.nn.Module, optimizer: Stateful, device: torch.device
) -> dict[str, Any]:
    """Restore model, optimizer and RNG states from ``path``; return the saved loop state."""
    blob = torch.load(str(path), map_location=device, weights_only=False)
    model.load_state_dict(blob["model"])
    optimizer.load_state_dict(blob["optimizer"])
    torch.random.set_rng_state(blob["torch_rng"].cpu())
    if blob["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in blob["cuda_rng"]])
    state: dict[str, Any] = blob["state"]
    return state

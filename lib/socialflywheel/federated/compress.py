"""Compressed model updates for thin links: 8-bit quantization and top-k sparsification, with error feedback.

A client compresses its update ``u`` (plus what earlier rounds left out, its *residual*) before sending, and keeps
the new residual, what the compressed update missed, for its next round (error feedback, Seide et al. 2014;
Karimireddy et al. 2019), so that over rounds nothing is lost: the sum of what was sent equals the sum of the true
updates minus the last residual. Only numpy is imported: the same code runs on Flower's ClientApps and the server.

- ``int8``: one float32 scale per array (``max |x| / 127``) and ``round(x / scale)`` as int8: 4x fewer bytes than
  float32, each entry off by at most half a scale step.
- ``topk``: the ``ceil(fraction x size)`` entries of largest magnitude, as int32 positions and float32 values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

Method = Literal["none", "int8", "topk"]
Payload = dict[str, np.ndarray]


@dataclass(frozen=True)
class Compressor:
    """How updates are compressed (the server sends it; every client uses the same).

    Attributes:
        method: ``none``, ``int8`` or ``topk``.
        topk_fraction: Share of an array's entries ``topk`` sends (at least one).
    """

    method: Method = "int8"
    topk_fraction: float = 0.01

    def __post_init__(self) -> None:
        """Refuse a method this module does not have, or a top-k share outside (0, 1]."""
        if self.method not in ("none", "int8", "topk"):
            raise ValueError(f"unknown compression method {self.method!r}: use none, int8 or topk")
        if not 0 < self.topk_fraction <= 1:
            raise ValueError(f"topk_fraction must be in (0, 1], got {self.topk_fraction}")

    def encode(self, update: np.ndarray) -> Payload:
        """The compressed form of one float array (what goes on the wire)."""
        x = np.asarray(update, dtype=np.float32).ravel()
        if self.method == "none":
            return {"values": x}
        if self.method == "int8":
            peak = float(np.max(np.abs(x))) if x.size else 0.0
            scale = peak / 127.0 if peak > 0 else 1.0
            return {"q": np.clip(np.rint(x / scale), -127, 127).astype(np.int8), "scale": np.array([scale], np.float32)}
        k = max(1, math.ceil(self.topk_fraction * x.size)) if x.size else 0
        at = np.argpartition(np.abs(x), x.size - k)[x.size - k :] if k else np.zeros(0, np.int64)
        at = np.sort(at).astype(np.int32)
        return {"index": at, "values": x[at]}

    def decode(self, payload: Payload, shape: tuple[int, ...]) -> np.ndarray:
        """The float32 array a payload stands for, in ``shape``."""
        size = math.prod(shape)
        if self.method == "none":
            flat = payload["values"].astype(np.float32)
        elif self.method == "int8":
            flat = payload["q"].astype(np.float32) * np.float32(payload["scale"][0])
        else:
            flat = np.zeros(size, np.float32)
            flat[payload["index"]] = payload["values"]
        if flat.size != size:
            raise ValueError(f"a payload for {flat.size} entries cannot fill shape {shape}")
        return flat.reshape(shape)

    def step(self, update: np.ndarray, residual: np.ndarray | None) -> tuple[Payload, np.ndarray]:
        """Compress ``update`` plus the residual of earlier rounds; returns the payload and the new residual."""
        u = np.asarray(update, dtype=np.float32)
        target = u if residual is None else u + residual
        payload = self.encode(target)
        return payload, target - self.decode(payload, target.shape)


def payload_bytes(payload: Payload) -> int:
    """Bytes a payload's arrays take on the wire (their data, without framing)."""
    return int(sum(a.nbytes for a in payload.values()))

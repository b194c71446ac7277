"""Federated trend discovery by secure aggregation with distributed noise: Flower's SecAgg+ (Flower venv).

Each device turns its posts into a ``days x vocabulary`` vector of 0/1 (did its owner use the hashtag that day; at
most ``cap`` hashtags a day count), adds its share of Gaussian noise, ``N(0, sigma^2 / n)`` per entry, and hands it
to Flower's ``secaggplus_mod``, which masks it with pairwise and self masks before it leaves the device. The
server runs Flower's ``SecAggPlusWorkflow``: it only ever holds masked vectors, learns their sum once enough
devices answered (devices that drop out after sharing their keys are unmasked from their neighbours' shares), and
the sum carries the devices' noise, ``N(0, sigma^2)`` per entry when all ``n`` answer. ``sigma`` is the Gaussian
mechanism's for a person's whole contribution (L2 norm at most ``sqrt(days * cap)``) at the configured
``(epsilon, delta)``, calibrated with Google's ``dp-accounting`` (RDP accountant), so the guarantee is user-level
over the whole range, against a server that follows the protocol. Writes what :mod:`.trend_apps` writes
(``estimates.parquet``, ``received.json``), plus ``masked.npz`` (every device's masked vector as received) when
``FLYWHEEL_FL_RECORD=1``, for the test that shows nothing individual can be read from them.
"""

from __future__ import annotations

import io
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from flwr.app import Context, Message
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.common import ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import Grid, LegacyContext, ServerApp, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

from socialflywheel.federated.accounting import noise_multiplier
from socialflywheel.federated.partition import client_file, device_items
from socialflywheel.federated.trend_apps import ROOT_ENV, _root, wait_for_nodes, write_estimates

DROP_ENV = "FLYWHEEL_FL_DROP"  # fault injection: devices (partition ids, comma-separated) that drop out mid-round
MODULUS = 1 << 32  # SecAgg+'s mask modulus (Flower's limit)
CLIP = 8.0  # a device's entries are clipped to [-CLIP, CLIP] before quantization (0/1 plus a small noise share)


def gaussian_sigma(epsilon: float, delta: float, sensitivity: float) -> float:
    """Noise standard deviation of one Gaussian release with this L2 sensitivity at (epsilon, delta).

    The smallest noise multiplier whose epsilon at ``delta`` (dp-accounting's RDP accountant) is at most ``epsilon``.
    """
    return noise_multiplier(epsilon, delta=delta) * sensitivity


def device_vector(posts: pa.Table | None, vocab: list[str], day0: int, days: int, cap: int, seed: int) -> np.ndarray:
    """A device's ``days x vocab`` 0/1 use, at most ``cap`` hashtags a day (a seeded uniform sample beyond)."""
    out = np.zeros((days, len(vocab)), np.float64)
    if posts is None:
        return out
    rng = np.random.default_rng(seed)
    tag, day = np.divmod(device_items(posts, vocab, day0, days), days)
    for d in np.unique(day):
        used = tag[day == d]
        out[d, rng.choice(used, size=cap, replace=False) if len(used) > cap else used] = 1.0
    return out


class _Device(NumPyClient):  # type: ignore[misc]  # flwr is untyped here
    def __init__(self, context: Context) -> None:
        self.context = context

    def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict[str, Any]]:
        me = int(self.context.node_config["partition-id"])
        if str(me) in os.environ.get(DROP_ENV, "").split(","):  # after sharing its keys, before its masked vector
            raise ConnectionError(f"device {me} dropped out ({DROP_ENV})")
        vocab = json.loads(str(config["vocab"]))
        days, day0, cap = int(config["days"]), int(config["day0"]), int(config["cap"])
        path = client_file(_root(self.context), me)
        posts = pq.read_table(path, columns=["ts", "hashtags"]) if path.exists() else None
        rng = np.random.default_rng([int(config["seed"]), me, 1])
        vec = device_vector(posts, vocab, day0, days, cap, seed=int(config["seed"]) * 1_000_003 + me)
        vec += rng.normal(0.0, float(config["noise_share_sd"]), size=vec.shape)
        return [vec.reshape(-1).astype(np.float64)], 1, {}


client = ClientApp(client_fn=lambda context: _Device(context).to_client(), mods=[secaggplus_mod])


class _Sum(FedAvg):  # type: ignore[misc]
    """FedAvg whose aggregate_fit keeps the sum: SecAgg+ hands every result the same unmasked mean, weights 1."""

    total: np.ndarray | None = None
    reports = 0

    def aggregate_fit(self, server_round: int, results: list[Any], failures: list[Any]) -> tuple[Any, dict[str, Any]]:
        mean = parameters_to_ndarrays(results[0][1].parameters)[0]
        self.reports = len(results)
        self.total = mean * len(results)
        return ndarrays_to_parameters([mean]), {}


class _Recording:
    """The server's grid, with every reply it received recorded (keys and sizes; raw masked vectors on request)."""

    def __init__(self, grid: Grid, record_raw: bool) -> None:
        self._grid, self.record_raw = grid, record_raw
        self.replies: list[dict[str, Any]] = []
        self.masked: list[np.ndarray] = []
        self.masked_bytes = 0

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(self._grid, name)

    def send_and_receive(self, messages: Any, *, timeout: float | None = None) -> list[Message]:  # noqa: ANN401
        replies = list(self._grid.send_and_receive(messages, timeout=timeout))
        for r in replies:
            if r.has_error():
                continue
            keys = {name: sorted(rec.keys()) for name, rec in r.content.config_records.items()}
            arrays = {name: len(rec) for name, rec in r.content.array_records.items()}  # entries: 0 when cleared
            self.replies.append({"config_records": keys, "array_records": arrays})
            secagg = r.content.config_records.get("secaggplus_configs")
            masked = secagg.get("masked_params") if secagg is not None else None
            if masked:
                self.masked_bytes = max(self.masked_bytes, sum(len(b) for b in masked))
            if masked and self.record_raw:
                self.masked.append(np.concatenate([np.load(io.BytesIO(b)).ravel() for b in masked]))
        return replies


server = ServerApp()


@server.main()  # type: ignore[untyped-decorator]
def collect(grid: Grid, context: Context) -> None:
    """Run one SecAgg+ round over every device; write the noisy sum as estimates and what was received."""
    root = Path(os.environ[ROOT_ENV])
    q = json.loads((root / "query.json").read_text())
    vocab, days, cap = list(q["vocab"]), int(q["days"]), int(q["cap"])
    expected = int(json.loads((root / "clients.json").read_text())["clients"])
    t0 = time.perf_counter()
    nodes = wait_for_nodes(grid, expected)
    delta = float(q.get("delta") or 1.0 / (10 * expected))
    sigma = gaussian_sigma(float(q["epsilon"]), delta, math.sqrt(days * cap))
    quantization = 1 << max(10, int(math.log2(MODULUS / (expected + 1))))  # the sum of n must not wrap the modulus
    config = {"vocab": json.dumps(vocab), "days": days, "day0": int(q["day0"]), "cap": cap, "seed": int(q["seed"])}
    config["noise_share_sd"] = sigma / math.sqrt(expected)
    strategy = _Sum(
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=expected,
        min_available_clients=expected,
        initial_parameters=ndarrays_to_parameters([np.zeros(days * len(vocab))]),
        on_fit_config_fn=lambda _round: config,
    )
    legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=1), strategy=strategy)
    shares = min(expected - (expected + 1) % 2, int(q.get("shares", 7)))  # odd, at most the number of devices
    workflow = SecAggPlusWorkflow(
        num_shares=shares,
        reconstruction_threshold=max(2, shares // 2 + 1),
        max_weight=1.0,
        clipping_range=CLIP,
        quantization_range=quantization,
        timeout=float(q.get("timeout_s", 600)),
    )
    recording = _Recording(grid, record_raw=os.environ.get("FLYWHEEL_FL_RECORD") == "1")
    DefaultWorkflow(fit_workflow=workflow)(recording, legacy)
    if strategy.total is None:
        raise RuntimeError(f"secure aggregation did not complete ({len(nodes)} devices; see the SuperLink log)")
    noise = sigma**2 * strategy.reports / expected  # devices that dropped out took their noise shares with them
    by_day = strategy.total.reshape(days, len(vocab))
    write_estimates(root, vocab, int(q["day0"]), by_day, noise_var=noise, noise_per_use=0.0)
    if recording.masked:
        np.savez(root / "masked.npz", *recording.masked)
    summary = {
        "nodes": len(nodes),
        "reports": strategy.reports,
        "failed": expected - strategy.reports,
        "seconds": time.perf_counter() - t0,
        "sigma": sigma,
        "delta": delta,
        "shares": shares,
        "bytes_per_client": recording.masked_bytes,
    }
    (root / "received.json").write_text(json.dumps({"summary": summary, "replies": recording.replies}))

"""Flower apps that train the two-tower federatedly: each device trains on its own examples, the server aggregates.

The run directory (``FLYWHEEL_FL_ROOT``) holds what the lake side prepared: ``plan.json`` (rounds, sampling,
local training, aggregation, privacy, compression, attack), ``initial.npz`` (the shared weights to start from),
``meta.json`` and ``items.parquet`` (vocabulary sizes and the public catalogue) and ``clients/`` (one file of
training examples per device, read only by that device). The server reads only the plan and the initial weights,
writes ``rounds/round-NNN.npz`` (the aggregated weights, scored lake-side on the holdout) and ``received.json``.

Aggregation is one of Flower's strategies (FedAvg, FedMedian, FedTrimmedAvg, Krum), optionally wrapped in
Flower's user-level central DP (server-side fixed or adaptive clipping, Gaussian noise). Compressed replies (8-bit
or top-k updates with error feedback, the residual kept in the node's state) are decoded by
:class:`Decompress` before the strategy (and DP clipping) sees them.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

if (_site := os.environ.get("FLYWHEEL_TORCH_SITE")) and _site not in sys.path:
    sys.path.append(_site)  # torch from the project venv, after Flower's own packages (see launch_simulation)

from flwr.app import Array, ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import (
    DifferentialPrivacyServerSideAdaptiveClipping,
    DifferentialPrivacyServerSideFixedClipping,
    FedAvg,
    FedMedian,
    FedTrimmedAvg,
    Krum,
    Strategy,
)

from socialflywheel.federated.compress import Compressor
from socialflywheel.federated.partition import client_file
from socialflywheel.federated.trend_apps import ROOT_ENV, _root, wait_for_nodes

_CACHE: dict[str, Any] = {}


def _client_state(root: Path) -> tuple[Any, Any, dict[str, np.ndarray], dict[str, Any]]:
    """Per process (a Ray worker serves many clients): the model, meta, catalogue and plan, read once."""
    if _CACHE.get("root") != str(root):
        from socialflywheel.federated.twotower import LocalTraining, build_model
        from socialflywheel.recsys.core.data import DatasetMeta
        from socialflywheel.recsys.core.embed import load_items

        plan = json.loads((root / "plan.json").read_text())
        meta = DatasetMeta.load(root / "meta.json")
        model = build_model(meta, LocalTraining.from_config(plan["local"]))
        _CACHE.update(root=str(root), model=model, meta=meta, plan=plan)
        _CACHE["items"] = load_items(root / "items.parquet", meta)
    return _CACHE["model"], _CACHE["meta"], _CACHE["items"], _CACHE["plan"]


client = ClientApp()


@client.train()  # type: ignore[untyped-decorator]  # flwr is untyped here (it lives in the Flower venv)
def train(msg: Message, context: Context) -> Message:
    """Train on this device's own examples from the round's weights; reply with the new weights (or update)."""
    import pyarrow.parquet as pq
    import torch

    from socialflywheel.federated.twotower import LocalTraining, load_shared, local_train, poison, shared_arrays
    from socialflywheel.recsys.core.data import example_arrays

    torch.set_num_threads(1)
    root = _root(context)
    model, meta, items, plan = _client_state(root)
    me = int(context.node_config["partition-id"])
    cfg = msg.content["config"]
    lt = LocalTraining.from_config(cfg)
    before = {k: a.numpy() for k, a in msg.content["arrays"].items()}
    load_shared(model, before)
    examples = example_arrays(pq.read_table(client_file(root, me)), meta)
    rng = np.random.default_rng([lt.seed, int(cfg["server-round"]), me])
    loss = local_train(model, examples, items, lt, rng=rng)
    after = shared_arrays(model)
    if me in set(plan.get("malicious", [])):
        after = poison(before, after, attack=str(plan["attack"]), scale=float(plan["attack_scale"]))
    n = len(examples["item_idx"])
    metrics = {"num-examples": n, "loss": loss if np.isfinite(loss) else 0.0}
    method = str(plan.get("compression", "none"))
    if method == "none":
        reply = ArrayRecord({k: Array(v) for k, v in after.items()})
        metrics["bytes"] = sum(int(v.nbytes) for v in after.values())
    else:  # send the compressed update; what it missed stays here for the next round (error feedback)
        comp = Compressor(method, float(plan.get("topk_fraction", 0.01)))  # type: ignore[arg-type]
        residual = context.state.array_records.get("residual")
        reply, sent = ArrayRecord(), 0
        kept = ArrayRecord()
        for k in after:
            res = residual[k].numpy() if residual is not None and k in residual else None
            payload, left = comp.step(after[k] - before[k], res)
            kept[k] = Array(left)
            for part, arr in payload.items():
                reply[f"{k}|{part}"] = Array(arr)
                sent += int(arr.nbytes)
        context.state["residual"] = kept
        metrics["bytes"] = sent
    return Message(RecordDict({"arrays": reply, "metrics": MetricRecord(metrics)}), reply_to=msg)


class Decompress(Strategy):  # type: ignore[misc]  # Strategy is untyped here
    """Turns compressed replies back into full weights (the round's weights + decoded update), then delegates."""

    def __init__(self, inner: Strategy, compressor: Compressor) -> None:
        self.inner, self.compressor = inner, compressor
        self.current: dict[str, np.ndarray] = {}

    def configure_train(self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid) -> Any:  # noqa: ANN401
        """Remember the round's weights (what updates are relative to) and let the inner strategy sample."""
        self.current = {k: a.numpy() for k, a in arrays.items()}
        return self.inner.configure_train(server_round, arrays, config, grid)

    def aggregate_train(self, server_round: int, replies: Iterable[Message]) -> Any:  # noqa: ANN401
        """Decode every reply's update into weights in place, then aggregate as the inner strategy does."""
        replies = list(replies)
        for r in replies:
            if r.has_error():
                continue
            got = r.content["arrays"]
            full = ArrayRecord()
            for k, base in self.current.items():
                parts = {p.split("|", 1)[1]: got[p].numpy() for p in got if p.split("|", 1)[0] == k}
                full[k] = Array((base + self.compressor.decode(parts, base.shape)).astype(base.dtype))
            r.content["arrays"] = full
        return self.inner.aggregate_train(server_round, replies)

    def configure_evaluate(self, *args: Any) -> Any:  # noqa: ANN401
        """No federated evaluation (the holdout is scored lake-side)."""
        return self.inner.configure_evaluate(*args)

    def aggregate_evaluate(self, *args: Any) -> Any:  # noqa: ANN401
        """As the inner strategy."""
        return self.inner.aggregate_evaluate(*args)

    def summary(self) -> None:
        """As the inner strategy."""
        self.inner.summary()


def make_strategy(plan: dict[str, Any], clients: int) -> tuple[Strategy, dict[str, Any]]:
    """The plan's aggregation (and DP wrapper, and decoder); returns it and its privacy parameters."""
    from socialflywheel.federated.accounting import epsilon_of, noise_multiplier

    frac = float(plan["fraction"])
    sampled = max(2, int(clients * frac))
    common = {"fraction_train": frac, "fraction_evaluate": 0.0, "min_train_nodes": 2, "min_available_nodes": clients}
    kind = str(plan.get("aggregation", "fedavg"))
    strategy: Strategy
    if kind == "median":
        strategy = FedMedian(**common)
    elif kind == "trimmed":
        strategy = FedTrimmedAvg(**common, beta=float(plan.get("trim", 0.2)))
    elif kind == "krum":
        strategy = Krum(**common, num_malicious_nodes=int(plan.get("krum_f", max(1, sampled // 10))))
    else:
        strategy = FedAvg(**common)
    privacy: dict[str, Any] = {"mechanism": "none", "epsilon": float("inf"), "sample_rate": sampled / clients}
    dp = str(plan.get("dp", "none"))
    if dp != "none":
        q, rounds = sampled / clients, int(plan["rounds"])
        delta = float(plan.get("delta") or 1.0 / clients)
        z = noise_multiplier(float(plan["epsilon"]), q=q, rounds=rounds, delta=delta)
        clip = float(plan["clipping_norm"])
        if dp == "adaptive":
            strategy = DifferentialPrivacyServerSideAdaptiveClipping(
                strategy, z, sampled, initial_clipping_norm=clip, target_clipped_quantile=0.5
            )
        else:
            strategy = DifferentialPrivacyServerSideFixedClipping(strategy, z, clip, sampled)
        eps = epsilon_of(z, q=q, rounds=rounds, delta=delta)
        privacy = {"mechanism": f"gaussian-{dp}-clipping", "epsilon": eps, "delta": delta, "noise_multiplier": z,
                   "clipping_norm": clip, "sample_rate": q, "rounds": rounds}  # fmt: skip
    if str(plan.get("compression", "none")) != "none":
        strategy = Decompress(strategy, Compressor(plan["compression"], float(plan.get("topk_fraction", 0.01))))
    return strategy, privacy


server = ServerApp()


@server.main()  # type: ignore[untyped-decorator]
def run(grid: Grid, context: Context) -> None:
    """Run the plan's rounds; write each round's weights and what was received."""
    root = Path(os.environ[ROOT_ENV])
    plan = json.loads((root / "plan.json").read_text())
    clients = int(json.loads((root / "clients.json").read_text())["clients"])
    random.seed(int(plan["local"]["seed"]))  # Flower's strategies sample devices with the random module
    wait_for_nodes(grid, clients)
    strategy, privacy = make_strategy(plan, clients)
    with np.load(root / "initial.npz") as z:
        initial = ArrayRecord({k: Array(z[k]) for k in z.files})
    (root / "rounds").mkdir(exist_ok=True)
    every = int(plan.get("save_every", 1))
    per_round: list[dict[str, Any]] = []

    def save(server_round: int, arrays: ArrayRecord) -> MetricRecord | None:
        if server_round and (server_round % every == 0 or server_round == int(plan["rounds"])):
            np.savez(root / "rounds" / f"round-{server_round:03d}.npz", **{k: a.numpy() for k, a in arrays.items()})
        return None

    t0 = time.perf_counter()
    result = strategy.start(
        grid=grid,
        initial_arrays=initial,
        num_rounds=int(plan["rounds"]),
        train_config=ConfigRecord(plan["local"]),
        evaluate_fn=save,
    )
    seconds = time.perf_counter() - t0
    for rnd, rec in sorted(result.train_metrics_clientapp.items()):
        per_round.append({"round": rnd, **{k: float(v) for k, v in rec.items()}})
    sampled = max(2, int(clients * float(plan["fraction"])))
    summary = {
        "clients": clients,
        "sampled_per_round": sampled,
        "rounds": int(plan["rounds"]),
        "seconds": seconds,
        "client_rounds_per_s": sampled * int(plan["rounds"]) / seconds,
        "bytes_per_client_round": float(np.mean([r.get("bytes", 0.0) for r in per_round])) if per_round else 0.0,
        "privacy": privacy,
    }
    (root / "received.json").write_text(json.dumps({"summary": summary, "per_round": per_round}))

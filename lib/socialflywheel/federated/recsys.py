"""Federated two-tower, lake side: cut a prepared dataset into devices, run Flower, score every round on the holdout.

A device is a person: their training examples (from the prepared ``train/`` shards of gold.training_examples, each
with the history as of that example) go to one file under ``<run>/clients/``; the public catalogue and the
vocabulary sizes go beside them. :mod:`.twotower_apps` trains on Flower's simulation runtime; the weights the
server saved after each round are scored here on the same validation and test splits, with the same
:func:`~socialflywheel.recsys.evaluate.evaluate_split` as central training. The round is chosen on validation
(as the central trainer chooses its epoch), and the test split scores that round.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from socialflywheel.federated.twotower import LocalTraining, build_model, load_shared, local_train, shared_arrays


@dataclass
class Plan:
    """A federated training run: rounds, sampling, local training, aggregation, privacy, compression, attack."""

    rounds: int = 30
    fraction: float = 0.1
    local: LocalTraining = field(default_factory=LocalTraining)
    aggregation: str = "fedavg"
    """fedavg, median, trimmed (beta ``trim``) or krum (Flower's strategies)."""
    trim: float = 0.2
    dp: str = "none"
    """none, fixed or adaptive (Flower's server-side clipping + Gaussian noise, user-level)."""
    epsilon: float = float("inf")
    delta: float | None = None
    clipping_norm: float = 1.0
    compression: str = "none"
    topk_fraction: float = 0.01
    malicious_fraction: float = 0.0
    attack: str = "sign_flip"
    attack_scale: float = 10.0
    save_every: int = 1

    def to_json(self, malicious: list[int]) -> dict[str, Any]:
        """What ``plan.json`` holds (the local training as a flat config the server sends each round)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "local"}
        return out | {"local": self.local.to_config(), "malicious": malicious}


def write_device_partition(data_root: str | Path, out: str | Path, *, seed: int = 0) -> int:
    """One file of training examples per person under ``out/clients``, plus the public meta and catalogue."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from socialflywheel.federated.partition import client_file

    src, dst = Path(data_root), Path(out)
    shutil.rmtree(dst / "clients", ignore_errors=True)
    (dst / "clients").mkdir(parents=True)
    train = pq.read_table(src / "train").sort_by("user_idx")
    users = pc.unique(train["user_idx"]).to_numpy()
    order = np.random.default_rng(seed).permutation(len(users))  # the numbering says nothing about who
    codes = np.searchsorted(users, train["user_idx"].to_numpy())
    bounds = np.flatnonzero(np.diff(codes)) + 1
    for start, end in zip(np.r_[0, bounds], np.r_[bounds, len(codes)], strict=True):
        pq.write_table(train.slice(start, end - start), client_file(dst, int(order[codes[start]])))
    shutil.copyfile(src / "meta.json", dst / "meta.json")
    shutil.copyfile(src / "items.parquet", dst / "items.parquet")
    (dst / "clients.json").write_text(json.dumps({"clients": len(users), "kind": "device", "rows": train.num_rows}))
    return len(users)


def run_federated_twotower(
    data_root: str | Path, run_dir: str | Path, plan: Plan, *, cpus: int | None = None, timeout_s: float = 3600.0
) -> dict[str, Any]:
    """Partition, write the plan and initial weights, train on Flower; returns the server's summary."""
    from socialflywheel.federated.trends import launch_simulation
    from socialflywheel.recsys.core.data import DatasetMeta

    root = Path(run_dir)
    clients = write_device_partition(data_root, root, seed=plan.local.seed)
    rng = np.random.default_rng([plan.local.seed, 7])
    bad = [int(c) for c in rng.choice(clients, round(plan.malicious_fraction * clients), replace=False)]
    (root / "plan.json").write_text(json.dumps(plan.to_json(sorted(bad))))
    model = build_model(DatasetMeta.load(data_root), plan.local)
    np.savez(root / "initial.npz", allow_pickle=False, **shared_arrays(model))
    shutil.rmtree(root / "rounds", ignore_errors=True)
    summary = launch_simulation(root, "twotower", clients, cpus=cpus, timeout_s=timeout_s)
    per_round = json.loads((root / "received.json").read_text())["per_round"]
    return summary | {"malicious": len(bad), "per_round": per_round}


def _test_root(data: Path) -> Path:
    """Where the test split is scored: the catalogue as of the test start when prepare wrote one."""
    from socialflywheel.recsys.train_job import test_view

    return test_view(data) if (data / "test" / "items.parquet").exists() else data


def _model_at(data_root: Path, lt: LocalTraining, arrays: dict[str, np.ndarray]) -> Any:  # noqa: ANN401
    from socialflywheel.recsys.core.data import DatasetMeta

    model = build_model(DatasetMeta.load(data_root), lt)
    load_shared(model, arrays)
    return model.eval()


def recall_at(rows: list[dict[str, float]], k: int = 50) -> float:
    """Recall@k out of an evaluation table."""
    return float(next(r["recall"] for r in rows if int(r["k"]) == k))


def score_rounds(data_root: str | Path, run_dir: str | Path, lt: LocalTraining) -> dict[str, Any]:
    """Validation Recall@50 of every saved round; the best round's test table (and the last round's)."""
    from socialflywheel.recsys.evaluate import evaluate_split

    data = Path(data_root)
    curve = []
    for path in sorted((Path(run_dir) / "rounds").glob("round-*.npz")):
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        curve.append(
            (int(path.stem.split("-")[1]), recall_at(evaluate_split(_model_at(data, lt, arrays), data, "val")))
        )
    if not curve:
        raise FileNotFoundError(f"no round weights under {run_dir}/rounds: the Flower run saved none")
    best = max(curve, key=lambda rv: rv[1])[0]
    with np.load(Path(run_dir) / "rounds" / f"round-{best:03d}.npz") as z:
        model = _model_at(data, lt, {k: z[k] for k in z.files})
    test = evaluate_split(model, _test_root(data), "test")
    return {"val_curve": curve, "best_round": best, "test": test, "test_recall_at_50": recall_at(test), "model": model}


def train_central(
    data_root: str | Path, lt: LocalTraining, *, epochs: int, post_ids: bool = True, progress: bool = False
) -> dict[str, Any]:
    """The central counterpart: the same model, loss and optimizer on the pooled examples; epoch chosen on val.

    ``post_ids=False`` scores posts by their content alone (no post id row in the item tower).
    """
    import pyarrow.parquet as pq
    import torch

    from socialflywheel.recsys.core.data import DatasetMeta, example_arrays
    from socialflywheel.recsys.core.embed import load_items
    from socialflywheel.recsys.evaluate import evaluate_split

    data = Path(data_root)
    meta = DatasetMeta.load(data)
    examples = example_arrays(pq.read_table(data / "train"), meta)
    items = load_items(data / "items.parquet", meta)
    model = build_model(meta, lt)
    if not post_ids:
        model.set_known_items(torch.zeros(meta.num_items, dtype=torch.bool), dropout=0.0)
    rng = np.random.default_rng([lt.seed, 11])
    curve, best, best_state = [], -1.0, None
    for epoch in range(1, epochs + 1):
        local_train(model, examples, items, lt, rng=rng)
        model.eval()
        val = recall_at(evaluate_split(model, data, "val"))
        curve.append((epoch, val))
        if progress:
            print(f"central epoch {epoch}/{epochs}: val Recall@50 {val:.4f}", flush=True)
        if val > best:
            best, best_state = val, {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    with torch.no_grad():
        model.load_state_dict(best_state)
    test = evaluate_split(model.eval(), _test_root(data), "test")
    chosen = max(curve, key=lambda ev: ev[1])[0]
    return {
        "val_curve": curve,
        "best_epoch": chosen,
        "test": test,
        "test_recall_at_50": recall_at(test),
        "model": model,
    }


def recall_by_group(
    model: Any,  # noqa: ANN401 - a TwoTower (torch is imported lazily here)
    data_root: str | Path,
    group_of: dict[int, str],
    *,
    split: str = "test",
) -> dict[str, dict[str, float]]:
    """Recall@50 of ``split`` per group of users (``group_of``: user_idx -> group; others are left out)."""
    from socialflywheel.recsys.baselines import read_interactions
    from socialflywheel.recsys.core.data import DatasetMeta
    from socialflywheel.recsys.core.embed import evaluate_two_tower, load_items, load_split
    from socialflywheel.recsys.evaluate import split_as_of

    data = Path(data_root)
    root = _test_root(data) if split == "test" else data
    meta = DatasetMeta.load(root)
    whole = load_split(root / split, meta)
    items = load_items(root / "items.parquet", meta)
    as_of = split_as_of(root, meta, split, read_interactions(root / "train"))
    groups = np.array([group_of.get(int(u), "") for u in whole.users])
    out = {}
    for g in sorted(set(groups) - {""}):
        rows = evaluate_two_tower(
            model, split=whole.restrict(groups == g), items=items, meta=meta, ks=(50,), as_of=as_of
        )
        out[g] = {"recall_at_50": recall_at(rows), "users": rows[0]["users"]}
    return out

r"""The two-tower training loop: streaming shards, DDP, checkpoints, exact resume, early stopping.

Runs as a plain function, as ``python -m socialflywheel.recsys.core.train_cli``, and under torchrun::

    torchrun --nproc_per_node 2 -m socialflywheel.recsys.core.train_cli \
        --data /path/prepared --out /path/run --epochs 5 --batch-size 1024

With several processes each rank reads its own row groups, item vectors are all-gathered so every
rank's in-batch softmax sees the whole global batch (the same loss as one process at that batch),
and DDP averages the gradients. On clusters the same :func:`train` runs inside Spark's
``TorchDistributor`` (see :mod:`socialflywheel.recsys.distributor`). Only torch, numpy, pyarrow, the
config model, the progress display and the standard library are imported here; MLflow tracking wraps
:func:`train` through ``log_fn``.

Every hyper-parameter's default is :class:`~socialflywheel.config.recsys.TrainConfig`'s (one source of truth), so
a test, a bench or the command line that does not name a value trains the product's model.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from socialflywheel import progress
from socialflywheel.config.recsys import TrainConfig
from socialflywheel.recsys.core.checkpoint import load_checkpoint, save_checkpoint
from socialflywheel.recsys.core.clock import NUM_TIME_FEATURES, ItemClock, created_times, train_positives
from socialflywheel.recsys.core.data import DatasetMeta, ShardStream, item_arrays, random_negatives, to_tensors
from socialflywheel.recsys.core.distributed import (
    DistEnv,
    average_sparse_grads,
    broadcast_object,
    ddp_ignore,
    gather_plain,
    gather_with_grad,
    init_distributed,
    shutdown,
)
from socialflywheel.recsys.core.model import TwoTower, autocast, load_model, sampled_softmax_loss, save_model
from socialflywheel.recsys.core.optim import TowerAdam

ValFn = Callable[[TwoTower], dict[str, float]]
LogFn = Callable[[int, dict[str, float]], None]
VAL_METRIC = "recall@50"
log = logging.getLogger(__name__)


class TrainingInterrupted(RuntimeError):
    """Raised by the ``stop_after_steps`` fault-injection hook (a stand-in for a killed run)."""


@dataclass
class TrainResult:
    """What a training run produced."""

    model_path: str
    best_metric: float
    best_epoch: int
    epochs_run: int
    global_steps: int
    stopped_early: bool
    examples_per_s: float
    examples_seen: int
    world_size: int
    device: str
    history: list[dict[str, float]] = field(default_factory=list)
    best_metrics: dict[str, float] = field(default_factory=dict)


DEFAULTS = TrainConfig()  # the defaults below are the product's


def train(
    *,
    shards_dir: str | Path,
    meta: DatasetMeta | str | Path,
    out_dir: str | Path,
    epochs: int = DEFAULTS.epochs,
    batch_size: int = DEFAULTS.batch_size,
    lr: float = DEFAULTS.lr,
    embedding_dim: int = DEFAULTS.embedding_dim,
    hidden_dim: int = DEFAULTS.hidden_dim,
    temperature: float = DEFAULTS.temperature,
    random_negatives: int = DEFAULTS.random_negatives,
    items_path: str | Path | None = None,
    patience: int = DEFAULTS.patience,
    seed: int = DEFAULTS.seed,
    device: str = DEFAULTS.device,
    amp: Literal["auto", "off", "bf16"] = DEFAULTS.amp,
    checkpoint_every_steps: int = DEFAULTS.checkpoint_every_steps,
    checkpoint_every_s: float = DEFAULTS.checkpoint_every_s,
    resume: bool = True,
    shuffle_buffer: int = DEFAULTS.shuffle_buffer,
    val_fn: ValFn | None = None,
    log_fn: LogFn | None = None,
    num_threads: int | None = None,
    stop_after_steps: int | None = None,
    time_prior: bool = DEFAULTS.time_prior,
    id_dropout: float = DEFAULTS.id_dropout,
    init_model: str | Path | None = None,
    sparse_ids: bool = DEFAULTS.sparse_ids,
    examples_per_epoch: int | None = DEFAULTS.examples_per_epoch,
) -> TrainResult:
    """Train a :class:`TwoTower` on prepared shards; one call per process (torchrun sets the env).

    Args:
        shards_dir: Directory of training-example Parquet shards.
        meta: The dataset's :class:`DatasetMeta` or the path of its ``meta.json``.
        out_dir: Checkpoints and the final ``model.pt`` go here (shared by all ranks).
        epochs: Maximum epochs.
        batch_size: Global batch size (divided evenly over ranks).
        lr: Adam learning rate.
        embedding_dim: Output (and id-embedding) size.
        hidden_dim: Tower MLP width.
        temperature: Softmax temperature.
        random_negatives: Extra uniformly sampled negatives per step (needs ``items_path``).
        items_path: ``items.parquet`` of the catalogue (for random negatives).
        patience: Epochs without a gain in validation recall@50 before stopping (0: never stop early).
        seed: Seeds initialization, data order and negatives.
        device: ``auto``, ``cpu`` or ``cuda``.
        amp: Mixed precision: ``auto`` (bf16 on capable GPUs), ``off`` or ``bf16``.
        checkpoint_every_steps: Mid-epoch checkpoint period in global steps (0: none by steps).
        checkpoint_every_s: Mid-epoch checkpoint period in seconds of training (0: none by time); either period
            writes one. A checkpoint of a large world's tables and their optimizer state takes seconds, so a period
            in steps that suits a small world spends a tenth of a large one's training writing them.
        resume: Continue from ``out_dir/checkpoint.pt`` when it exists.
        shuffle_buffer: Rows shuffled together per rank.
        val_fn: Called on rank 0 with the unwrapped model after each epoch; returns flat metrics
            with ``recall@50``, which drives model selection and early stopping.
        log_fn: Called on rank 0 with ``(epoch, metrics)`` after each epoch (e.g. MLflow logging).
        num_threads: CPU threads per process (``torch.set_num_threads``); unset keeps torch's default.
            On a shared or small host, ``cores // processes`` avoids oversubscription, which costs
            far more than it gains for a model this size.
        stop_after_steps: Test hook: raise :class:`TrainingInterrupted` after this many global steps.
        time_prior: Learn a logit from each candidate's age and recent positives as of the example's
            time (:mod:`.clock`; needs ``items_path`` with ``item_created_ts``); candidates created after
            an example's time are left out of its softmax.
        id_dropout: Share of training examples whose item id embedding is dropped, so the item tower
            learns to rank from content alone; items never seen in training always drop it (> 0 only).
        init_model: A ``model.pt`` whose weights start the training (a warm start, e.g. the refit of
            the selected model on train + validation); its architecture must match these arguments.
        sparse_ids: Row-sparse gradients for the id tables and a lazy Adam on the rows a step read
            (:class:`~socialflywheel.recsys.core.optim.TowerAdam`); dense Adam over everything when False.
        examples_per_epoch: Train each epoch on this many examples (whole global batches) of the epoch's seeded
            order, a different subsample every epoch; None: every example.

    Returns:
        A :class:`TrainResult` (identical on every rank).
    """
    env = init_distributed(device)
    try:
        return _train(env=env, **{k: v for k, v in locals().items() if k not in ("env", "device")})
    finally:
        shutdown(env)


def _train(*, env: DistEnv, **kw: Any) -> TrainResult:
    meta = kw["meta"] if isinstance(kw["meta"], DatasetMeta) else DatasetMeta.load(kw["meta"])
    if kw["batch_size"] % env.world_size:
        raise ValueError(f"batch_size {kw['batch_size']} is not divisible by world size {env.world_size}")
    per_rank = kw["batch_size"] // env.world_size
    out = Path(kw["out_dir"])
    out.mkdir(parents=True, exist_ok=True)
    seed = int(kw["seed"])
    if kw["num_threads"]:
        torch.set_num_threads(int(kw["num_threads"]))
    torch.manual_seed(seed)
    stream = ShardStream(
        shards_dir=kw["shards_dir"],
        meta=meta,
        rank=env.rank,
        world_size=env.world_size,
        per_rank_batch=per_rank,
        seed=seed,
        shuffle_buffer=kw["shuffle_buffer"],
        examples_per_epoch=kw["examples_per_epoch"],
    )
    clock = None
    if kw["time_prior"] and kw["items_path"] is not None and meta.extra.get("split_by", "time") == "time":
        created = created_times(kw["items_path"], meta.num_items)
        if created is not None:
            clock = ItemClock(created, *train_positives(kw["shards_dir"]))
            clock.tabulate()  # every (hour, item) feature row once, when the table is small enough
    model = TwoTower(
        num_users=meta.num_users,
        **meta.tower_sizes(),
        embedding_dim=kw["embedding_dim"],
        hidden_dim=kw["hidden_dim"],
        time_features=NUM_TIME_FEATURES if clock is not None else 0,
        temperature=kw["temperature"],
    ).to(env.device)
    if kw["init_model"] is not None:
        start = load_model(kw["init_model"], map_location=env.device)
        if start.config != model.config:
            diff = {k: (v, model.config.get(k)) for k, v in start.config.items() if model.config.get(k) != v}
            raise ValueError(f"init_model {kw['init_model']} does not match this model: {diff}")
        model.load_state_dict(start.state_dict())
    if kw["id_dropout"] > 0 and len(meta.item_counts) == meta.num_items:
        model.set_known_items(torch.as_tensor(meta.item_counts) > 0, dropout=kw["id_dropout"])
    # NCCL has no sparse all-reduce: DDP over CUDA processes keeps the tables dense
    opt = TowerAdam(model, lr=kw["lr"], sparse=kw["sparse_ids"] and not (env.distributed and env.device.type == "cuda"))
    items = None
    if kw["random_negatives"] > 0:
        if kw["items_path"] is None:
            raise ValueError("random_negatives > 0 needs items_path (the catalogue)")
        import pyarrow.parquet as pq

        items = item_arrays(pq.read_table(kw["items_path"]), meta)
    state: dict[str, Any] = {
        "epoch": 0,
        "step": 0,
        "global_step": 0,
        "best": -1.0,
        "best_epoch": -1,
        "bad": 0,
        "history": [],
        "loss_sum": 0.0,
        "stopped": False,
        "train_s": 0.0,
        "best_metrics": {},
    }
    ckpt_path = out / "checkpoint.pt"
    if kw["resume"] and ckpt_path.exists():
        state = load_checkpoint(ckpt_path, model=model, optimizer=opt, device=env.device)
    net: torch.nn.Module = model
    if env.distributed:
        if opt.sparse_params:  # row-sparse gradients are averaged by dense all-gathers after backward
            ddp_ignore(model, opt.sparse_params)
        net = DistributedDataParallel(model, device_ids=[env.device.index] if env.device.type == "cuda" else None)
    log_q = torch.from_numpy(meta.log_q()).to(env.device)
    steps = stream.steps_per_epoch
    own_cols = torch.arange(per_rank) + env.rank * per_rank  # each row's positive among the gathered candidates
    every, every_s = int(kw["checkpoint_every_steps"]), float(kw["checkpoint_every_s"])
    last_checkpoint = time.perf_counter()

    def checkpoint() -> None:
        if env.is_main:
            save_checkpoint(ckpt_path, model=model, optimizer=opt, state=state)

    while state["epoch"] < kw["epochs"] and not state["stopped"]:
        epoch = state["epoch"]
        t0 = time.perf_counter()
        with progress.task(
            f"train epoch {epoch + 1}/{kw['epochs']}",
            total=steps * kw["batch_size"],
            unit="examples",
            completed=state["step"] * kw["batch_size"],  # a resumed epoch goes on from its checkpoint
            enabled=env.is_main,
        ) as bar:
            for batch in stream.iter_epoch(epoch, start_step=state["step"]):
                t = to_tensors(batch, env.device)
                neg_np = random_negatives(items, kw["random_negatives"], seed, epoch, state["step"])
                neg = to_tensors(neg_np, env.device) if neg_np is not None else None
                all_ids = gather_plain(t["item_idx"])
                pairs = None
                if clock is not None:  # the prior runs once per needed (hour, item) pair of the batch, then fans out
                    cands = all_ids if neg is None else torch.cat([all_ids, neg["item_idx"]])
                    pairs = clock.batch_pairs(cands, t["ts"], own_cols[: len(t["ts"])])
                with autocast(env.device, kw["amp"]):
                    users, pos, neg_vec, prior = net(t, neg, pairs.features if pairs is not None else None)
                extra = neg_extra = None
                if prior is not None and pairs is not None:
                    extra = pairs.logits(prior)
                    extra, neg_extra = extra[:, : len(all_ids)], extra[:, len(all_ids) :]
                loss = sampled_softmax_loss(
                    users,
                    gather_with_grad(pos),
                    all_ids,
                    log_q=log_q,
                    temperature=kw["temperature"],
                    label_offset=env.rank * per_rank,
                    weights=t["weight"],
                    neg_vec=neg_vec,
                    neg_ids=neg["item_idx"] if neg is not None else None,
                    extra_logits=extra,
                    neg_extra_logits=neg_extra,
                )
                opt.zero_grad()
                loss.backward()
                average_sparse_grads(opt.sparse_params)
                opt.step()
                state["loss_sum"] += float(loss.detach())
                state["step"] += 1
                bar.advance(kw["batch_size"])
                state["global_step"] += 1
                now = time.perf_counter()
                due = (every and state["global_step"] % every == 0) or (every_s and now - last_checkpoint >= every_s)
                if due and state["step"] < steps:
                    state["train_s"] += now - t0
                    checkpoint()
                    t0 = last_checkpoint = time.perf_counter()
                if kw["stop_after_steps"] is not None and state["global_step"] >= kw["stop_after_steps"]:
                    raise TrainingInterrupted(f"stopped after {state['global_step']} steps (test hook)")
        state["train_s"] += time.perf_counter() - t0
        _end_epoch(env=env, model=model, state=state, steps=steps, out=out, kw=kw)
        checkpoint()
    return _finish(env=env, model=model, state=state, out=out, per_step=kw["batch_size"])


def _end_epoch(
    *, env: DistEnv, model: TwoTower, state: dict[str, Any], steps: int, out: Path, kw: dict[str, Any]
) -> None:
    """Validate on rank 0, share the verdict, keep the best model, decide on early stopping; log the epoch."""
    t_val = time.perf_counter()
    loss = torch.tensor([state["loss_sum"] / steps], dtype=torch.float64)
    if env.distributed:
        dist.all_reduce(loss)
        loss /= env.world_size
    record: dict[str, float] = {"epoch": float(state["epoch"]), "train_loss": float(loss.item())}
    metrics: dict[str, float] = {}
    if env.is_main and kw["val_fn"] is not None:
        metrics = kw["val_fn"](model)
    metrics = broadcast_object(metrics, env)
    record.update(metrics)
    score = metrics.get(VAL_METRIC, -float(loss.item()))
    if score > state["best"] or state["best_epoch"] < 0:
        state.update(best=score, best_epoch=state["epoch"], bad=0, best_metrics=dict(metrics))
        if env.is_main:
            save_model(model, out / "best.tmp")
            os.replace(out / "best.tmp", out / "best.pt")
    else:
        state["bad"] += 1
    state["history"].append(record)
    if env.is_main and kw["log_fn"] is not None:
        kw["log_fn"](state["epoch"], record)
    state["stopped"] = bool(kw["patience"] and state["bad"] >= kw["patience"])
    # the epoch's training time is what train_s gained since the last epoch ended (a resumed epoch's included)
    train_s, val_s = state["train_s"] - state.get("train_s_at_epoch_end", 0.0), time.perf_counter() - t_val
    state["val_s"] = state.get("val_s", 0.0) + val_s
    if env.is_main:
        val = f", val {VAL_METRIC} {metrics[VAL_METRIC]:.4f}" if VAL_METRIC in metrics else ""
        log.info(
            "epoch %d/%d: train loss %.4f%s, %s examples/s, epoch %.1fs (validation %.1fs), elapsed %.1fs",
            state["epoch"] + 1,
            kw["epochs"],
            record["train_loss"],
            val,
            format(steps * kw["batch_size"] / max(train_s, 1e-9), ",.0f"),
            train_s + val_s,
            val_s,
            state["train_s"] + state["val_s"],
        )
    state.update(epoch=state["epoch"] + 1, step=0, loss_sum=0.0, train_s_at_epoch_end=state["train_s"])


def _finish(*, env: DistEnv, model: TwoTower, state: dict[str, Any], out: Path, per_step: int) -> TrainResult:
    if env.is_main:
        if (out / "best.pt").exists():  # the selected epoch's weights; best.pt stays for a resume
            shutil.copyfile(out / "best.pt", out / "model.tmp")
            os.replace(out / "model.tmp", out / "model.pt")
        else:
            save_model(model, out / "model.pt")
    if env.distributed:
        dist.barrier()
    return TrainResult(
        model_path=str(out / "model.pt"),
        best_metric=float(state["best"]),
        best_epoch=int(state["best_epoch"]),
        epochs_run=len(state["history"]),
        global_steps=int(state["global_step"]),
        stopped_early=bool(state["stopped"]),
        examples_per_s=state["global_step"] * per_step / max(state["train_s"], 1e-9),
        examples_seen=state["global_step"] * per_step,
        world_size=env.world_size,
        device=str(env.device),
        history=list(state["history"]),
        best_metrics=dict(state["best_metrics"]),
    )

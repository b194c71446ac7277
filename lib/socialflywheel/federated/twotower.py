"""The two-tower learned where the data lives: one training step for a device and for the central counterpart.

Federated, each person's device holds their own training examples (their history as of each example, the post
they engaged with); the catalogue (posts' public content features) is public, every client holds it. The user
tower has no per-person id row: a person's vector is computed on their device from their history and features
(``num_users=1``, one shared row), so the person's embedding and history never leave it, and only the shared
weights (item tower, id tables of posts, authors and hashtags, both MLPs) are aggregated.

The central counterpart trains the same model with the same loss and optimizer on the pooled examples (the
baseline the issue compares with); the production trainer (``flywheel train``, time prior, in-batch negatives)
stays what it is. The loss is a sampled softmax over the example's positive and ``negatives`` catalogue posts
drawn uniformly (a device has only its own positives, so in-batch negatives would be its own other likes).

Imported by the Flower ClientApps (torch reaches the Flower venv through ``FLYWHEEL_TORCH_SITE``) and by the
lake side; numpy in, numpy out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.model import TwoTower

Arrays = dict[str, np.ndarray]
LOCAL = ("user_id.weight",)
"""Parameters that never leave a device (the one shared user row is a constant: a person has no id row)."""


@dataclass(frozen=True)
class LocalTraining:
    """How a client (or the central trainer, per step) trains: the same on every client of a round."""

    embedding_dim: int = 32
    hidden_dim: int = 64
    negatives: int = 128
    batch_size: int = 32
    epochs: int = 1
    lr: float = 0.05
    optimizer: str = "sgd"
    temperature: float = 0.1
    seed: int = 0

    def to_config(self) -> dict[str, Any]:
        """What the server sends each round (a Flower ConfigRecord holds these scalars)."""
        return asdict(self)

    @classmethod
    def from_config(cls, cfg: Any) -> LocalTraining:  # noqa: ANN401 - a dict or Flower's ConfigRecord
        """Read back :meth:`to_config` (ignoring keys it does not have)."""
        names = cls.__dataclass_fields__
        return cls(**{k: type(getattr(cls(), k))(cfg[k]) for k in names if k in cfg})


def build_model(meta: DatasetMeta, lt: LocalTraining) -> TwoTower:
    """The federated two-tower for a prepared dataset: no per-person id row, no time prior, dense id gradients."""
    torch.manual_seed(lt.seed)
    model = TwoTower(
        num_users=1,
        **meta.tower_sizes(),
        embedding_dim=lt.embedding_dim,
        hidden_dim=lt.hidden_dim,
        temperature=lt.temperature,
    )
    model.set_sparse_ids(False)
    return model


def shared_arrays(model: TwoTower) -> Arrays:
    """The weights that are aggregated (every parameter but :data:`LOCAL`), as float32 numpy arrays."""
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items() if k in _shared_keys(model)}


def _shared_keys(model: TwoTower) -> set[str]:
    """Trained float weights, :data:`LOCAL` excepted (the ``id_known`` mask is a constant of the catalogue)."""
    return {k for k, v in model.state_dict().items() if v.is_floating_point() and k not in LOCAL}


def load_shared(model: TwoTower, arrays: Arrays) -> None:
    """Set the aggregated weights (keys of :func:`shared_arrays`); a missing or extra key is an error."""
    state = model.state_dict()
    expected = _shared_keys(model)
    if set(arrays) != expected:
        raise KeyError(
            f"shared weights differ from the model's: missing {sorted(expected - set(arrays))[:3]}, "
            f"extra {sorted(set(arrays) - expected)[:3]}"
        )
    model.load_state_dict({**state, **{k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}})


def _tensors(batch: Arrays, rows: np.ndarray) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v[rows])) for k, v in batch.items() if k not in ("ts",)}


def sampled_loss(model: TwoTower, batch: dict[str, torch.Tensor], items: Arrays, neg_ids: np.ndarray) -> torch.Tensor:
    """Softmax of each example's positive against the ``neg_ids`` catalogue posts (a hit on the positive masked)."""
    users = model.user_embed(batch)
    pos = model.item_embed(batch)
    neg = model.item_embed(_tensors(items, neg_ids))
    pos_logit = (users * pos).sum(dim=1, keepdim=True)
    neg_logit = users @ neg.T
    hit = torch.from_numpy(neg_ids)[None, :] == batch["item_idx"][:, None]
    logits = torch.cat([pos_logit, neg_logit.masked_fill(hit, float("-inf"))], dim=1) / model.temperature
    weights = batch["weight"]
    loss = F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long), reduction="none")
    return (loss * weights).sum() / weights.sum().clamp(min=1e-12)


def _batches(n: int, size: int, rng: np.random.Generator, epochs: int) -> Iterator[np.ndarray]:
    for _ in range(epochs):
        order = rng.permutation(n)
        for a in range(0, n, size):
            yield order[a : a + size]


def local_train(
    model: TwoTower, examples: Arrays, items: Arrays, lt: LocalTraining, *, rng: np.random.Generator
) -> float:
    """SGD over one client's examples for ``lt.epochs`` (in place); returns the mean loss of its steps."""
    n = len(examples["item_idx"])
    if n == 0:
        return float("nan")
    model.train()
    opt: torch.optim.Optimizer = (
        torch.optim.Adam(model.parameters(), lr=lt.lr)
        if lt.optimizer == "adam"
        else torch.optim.SGD(model.parameters(), lr=lt.lr)
    )
    losses = []
    for rows in _batches(n, lt.batch_size, rng, lt.epochs):
        neg_ids = rng.integers(0, len(items["item_idx"]), size=lt.negatives)
        loss = sampled_loss(model, _tensors(examples, rows), items, neg_ids)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


def poison(before: Arrays, after: Arrays, *, attack: str, scale: float) -> Arrays:
    """A malicious client's reply: ``sign_flip`` sends ``before - scale x update``, ``scale`` ``before + scale x``."""
    factor = -scale if attack == "sign_flip" else scale
    return {k: before[k] + factor * (after[k] - before[k]) for k in before}

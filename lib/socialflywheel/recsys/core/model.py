"""The two-tower retrieval model and its in-batch sampled-softmax loss with logQ correction."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import FunctionCtx


def _bag_mean(table: nn.Embedding, idx: torch.Tensor, buckets: int) -> torch.Tensor:
    """Mean of the rows of ``table`` named by ``idx`` (``-1`` = padding, row 0 of the table; all-padding: zeros).

    ``F.embedding_bag`` over the table's own weight, not an ``nn.EmbeddingBag``: the item id table is shared with
    the item tower, so the history bag must read the same parameters (and checkpoints keep their names).
    """
    shifted = torch.where(idx >= 0, idx % buckets + 1, torch.zeros_like(idx))
    return F.embedding_bag(shifted, table.weight, mode="mean", padding_idx=0, sparse=table.sparse)


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Linear(hidden, out))


_PRIOR_CHUNK = 2048  # pairs per block: the block's [chunk, hidden] activations stay in the core's cache


class _ChunkedPrior(torch.autograd.Function):
    """The time prior's ``Linear -> GELU -> Linear`` on ``[P, F]`` features, in cache-sized blocks (CPU).

    A batch holds hundreds of thousands of (hour, item) pairs; autograd would write and re-read their ``[P, 32]``
    activations several times, and on a CPU that memory traffic, not the arithmetic, was the training step's
    cost. Here each block's activations are made, used and dropped while in cache; the backward recomputes them
    (the features need no gradient, so only the weights' gradients are summed). Same function as the modules.
    """

    @staticmethod
    def forward(
        ctx: FunctionCtx, feats: torch.Tensor, w1: torch.Tensor, b1: torch.Tensor, w2: torch.Tensor, b2: torch.Tensor
    ) -> torch.Tensor:
        ctx.save_for_backward(feats, w1, b1, w2)
        out = feats.new_empty(feats.shape[0])
        for a in range(0, feats.shape[0], _PRIOR_CHUNK):
            hidden = F.gelu(torch.addmm(b1, feats[a : a + _PRIOR_CHUNK], w1.T))
            torch.mv(hidden, w2[0], out=out[a : a + _PRIOR_CHUNK])
        return out + b2

    @staticmethod  # ctx: Any, since torch's FunctionCtx declares neither saved_tensors nor needs_input_grad
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # noqa: ANN401
        feats, w1, b1, w2 = ctx.saved_tensors
        # a column of ones makes the bias one more input weight: one [F + 1, hidden] product per block
        with_one = torch.cat([feats, feats.new_ones(feats.shape[0], 1)], dim=1)
        w1_b1 = torch.cat([w1, b1[:, None]], dim=1)
        g_w1_b1, g_w2 = feats.new_zeros(w1_b1.shape[::-1]), torch.zeros_like(w2)
        g_feats = torch.empty_like(feats) if ctx.needs_input_grad[0] else None
        for a in range(0, feats.shape[0], _PRIOR_CHUNK):
            block, g = with_one[a : a + _PRIOR_CHUNK], grad[a : a + _PRIOR_CHUNK]
            pre = block @ w1_b1.T
            g_w2[0].addmv_(F.gelu(pre).T, g)
            g_pre = torch.ops.aten.gelu_backward(torch.outer(g, w2[0]), pre)
            g_w1_b1.addmm_(block.T, g_pre)
            if g_feats is not None:
                torch.mm(g_pre, w1, out=g_feats[a : a + _PRIOR_CHUNK])
        g_w1_b1 = g_w1_b1.T
        return g_feats, g_w1_b1[:, :-1].contiguous(), g_w1_b1[:, -1].contiguous(), g_w2, grad.sum().reshape(1)


def _blockable(prior: nn.Sequential, feats: torch.Tensor) -> tuple[nn.Linear, nn.Linear] | None:
    """The prior's two layers when :class:`_ChunkedPrior` computes exactly what it does (fp32 on the CPU)."""
    if feats.device.type != "cpu" or feats.dtype != torch.float32 or torch.is_autocast_enabled("cpu"):
        return None
    if len(prior) != 3 or not feats.shape[:-1].numel():
        return None
    first, act, last = prior
    if not (isinstance(first, nn.Linear) and isinstance(act, nn.GELU) and isinstance(last, nn.Linear)):
        return None
    if act.approximate != "none" or last.out_features != 1 or first.weight.dtype != torch.float32:
        return None
    return first, last


class TwoTower(nn.Module):
    """User and item towers whose L2-normalized outputs meet in a dot product.

    User tower: user id embedding, a projection of the dense user features, and the mean of the
    recent history items' id embeddings (the item id table is shared, so history speaks the same
    language as the item tower). Item tower: item id, category, author, the mean of its hashtag
    embeddings and a projection of its content features. Id tables larger than ``max_id_buckets``
    are hashed (modulo) into that many rows.
    """

    def __init__(
        self,
        *,
        num_users: int,
        num_items: int,
        num_categories: int,
        num_authors: int,
        num_hashtags: int,
        user_feature_dim: int,
        item_feature_dim: int,
        embedding_dim: int = 64,
        hidden_dim: int = 128,
        max_id_buckets: int = 1 << 20,
        time_features: int = 0,
        temperature: float = 0.05,
    ) -> None:
        super().__init__()
        self.config: dict[str, Any] = {
            "num_users": num_users,
            "num_items": num_items,
            "num_categories": num_categories,
            "num_authors": num_authors,
            "num_hashtags": num_hashtags,
            "user_feature_dim": user_feature_dim,
            "item_feature_dim": item_feature_dim,
            "embedding_dim": embedding_dim,
            "hidden_dim": hidden_dim,
            "max_id_buckets": max_id_buckets,
            "time_features": time_features,
            "temperature": temperature,
        }
        self.temperature = temperature
        self.id_dropout = 0.0
        # Items whose id row was trained (set by the trainer); others use the content inputs alone.
        self.id_known: torch.Tensor
        self.register_buffer("id_known", torch.ones(max(1, min(num_items, max_id_buckets)) + 1, dtype=torch.bool))
        self.time_prior: nn.Sequential | None = None
        if time_features > 0:  # a logit added to the dot product from the item's features at the query time
            last = nn.Linear(32, 1)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.time_prior = nn.Sequential(nn.Linear(time_features, 32), nn.GELU(), last)
        d = embedding_dim
        self.user_buckets = max(1, min(num_users, max_id_buckets))
        self.item_buckets = max(1, min(num_items, max_id_buckets))
        self.author_buckets = max(1, min(num_authors, max_id_buckets))
        self.hashtag_buckets = max(1, min(num_hashtags, max_id_buckets))
        self.user_id = nn.Embedding(self.user_buckets, d)
        self.item_id = nn.Embedding(self.item_buckets + 1, d, padding_idx=0)
        self.category = nn.Embedding(max(1, num_categories), d)
        self.author = nn.Embedding(self.author_buckets, d)
        self.hashtag = nn.Embedding(self.hashtag_buckets + 1, d, padding_idx=0)
        self.user_dense = nn.Linear(max(1, user_feature_dim), d)
        self.item_dense = nn.Linear(max(1, item_feature_dim), d)
        self.user_mlp = _mlp(3 * d, hidden_dim, d)
        self.item_mlp = _mlp(5 * d, hidden_dim, d)
        for emb in (self.user_id, self.item_id, self.category, self.author, self.hashtag):
            nn.init.normal_(emb.weight, std=0.05)
            if emb.padding_idx is not None:
                with torch.no_grad():
                    emb.weight[emb.padding_idx].zero_()

    def id_tables(self) -> list[nn.Embedding]:
        """The tables indexed by an id (user, item, author, hashtag): rows grow with the world, a step touches few."""
        return [self.user_id, self.item_id, self.author, self.hashtag]

    def set_sparse_ids(self, sparse: bool) -> None:
        """Give the id tables row-sparse gradients (the rows a step read), or dense ones (the whole table).

        With sparse gradients an optimizer's step costs what the batch touched rather than the tables' size: at
        half a million users and posts, dense Adam over the tables was half of every training step.
        """
        for table in self.id_tables():
            table.sparse = sparse

    def set_known_items(self, known: torch.Tensor, *, dropout: float) -> None:
        """Mark the items whose id row gets trained (``[num_items]`` bool) and the id dropout rate."""
        with torch.no_grad():
            self.id_known[1:] = known.to(self.id_known.device)[: self.item_buckets]
        self.id_dropout = float(dropout)

    def user_embed(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """L2-normalized user vectors from ``user_idx, user_features, user_history``."""
        uid = self.user_id(batch["user_idx"] % self.user_buckets)
        hist = _bag_mean(self.item_id, batch["user_history"], self.item_buckets)
        dense = self.user_dense(batch["user_features"].to(uid.dtype))
        return F.normalize(self.user_mlp(torch.cat([uid, hist, dense], dim=1)), dim=-1)

    def item_embed(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """L2-normalized item vectors from the ``item_*`` columns."""
        rows = batch["item_idx"] % self.item_buckets + 1
        keep = self.id_known[rows]
        if self.training and self.id_dropout > 0:
            keep = keep & (torch.rand(rows.shape, device=rows.device) >= self.id_dropout)
        iid = self.item_id(torch.where(keep, rows, torch.zeros_like(rows)))
        cat = self.category(batch["item_category"].clamp(min=0) % self.category.num_embeddings)
        author = self.author(batch["item_author_idx"] % self.author_buckets)
        tags = _bag_mean(self.hashtag, batch["item_hashtags"], self.hashtag_buckets)
        dense = self.item_dense(batch["item_features"].to(iid.dtype))
        return F.normalize(self.item_mlp(torch.cat([iid, cat, author, tags, dense], dim=1)), dim=-1)

    def prior(self, time_feats: torch.Tensor) -> torch.Tensor:
        """The time prior's logit ``[..., ]`` for ``[..., time_features]`` (zeros without a prior)."""
        if self.time_prior is None:
            return torch.zeros(time_feats.shape[:-1], device=time_feats.device)
        layers = _blockable(self.time_prior, time_feats)
        if layers is not None:
            first, last = layers
            flat = time_feats.reshape(-1, time_feats.shape[-1])
            # Function.apply is untyped in torch's stubs
            out: torch.Tensor = _ChunkedPrior.apply(  # type: ignore[no-untyped-call]
                flat, first.weight, first.bias, last.weight, last.bias
            )
            return out.reshape(time_feats.shape[:-1])
        logit: torch.Tensor = self.time_prior(time_feats)
        return logit.squeeze(-1)

    def forward(
        self,
        batch: dict[str, torch.Tensor],
        negatives: dict[str, torch.Tensor] | None = None,
        time_feats: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Both towers on one batch, the item tower on extra negatives and the time prior, in one call (for DDP).

        Args:
            batch: Example tensors (user and item columns).
            negatives: Optional item-column tensors of sampled negative items.
            time_feats: Optional ``[..., time_features]`` candidate features (``[B, N, F]`` per row, ``[U, N, F]`` per
                distinct time bucket, or ``[P, F]`` per needed (bucket, item) pair).

        Returns:
            ``(user_vectors, item_vectors, negative_vectors or None, prior logits or None)``; the prior logits are
            shaped as ``time_feats`` without its last axis.
        """
        users = self.user_embed(batch)
        prior = self.prior(time_feats) if time_feats is not None else None
        if negatives is None:
            return users, self.item_embed(batch), None, prior
        n = batch["item_idx"].shape[0]
        both = {k: torch.cat([batch[k], negatives[k]]) for k in negatives}
        items = self.item_embed(both)
        return users, items[:n], items[n:], prior


def sampled_softmax_loss(
    user_vec: torch.Tensor,
    item_vec: torch.Tensor,
    item_ids: torch.Tensor,
    *,
    log_q: torch.Tensor,
    temperature: float,
    label_offset: int = 0,
    weights: torch.Tensor | None = None,
    neg_vec: torch.Tensor | None = None,
    neg_ids: torch.Tensor | None = None,
    extra_logits: torch.Tensor | None = None,
    neg_extra_logits: torch.Tensor | None = None,
) -> torch.Tensor:
    """In-batch sampled softmax with logQ correction and optional uniform extra negatives.

    Row ``i`` of ``user_vec`` has its positive at column ``label_offset + i`` of ``item_vec`` (the
    offset places this rank's rows inside an all-gathered global batch). Each candidate's logit is
    reduced by the log of its expected count among the candidates (``log q_j + log N`` for in-batch
    items, ``log(R / num_items)`` for the ``R`` uniform negatives), so popular items are not
    over-penalized for being sampled often. Accidental hits (a row's own positive appearing as
    another candidate) are masked.

    Args:
        user_vec: ``[B, d]`` normalized user vectors (this rank's rows).
        item_vec: ``[N, d]`` normalized candidate item vectors (in-batch, possibly global).
        item_ids: ``[N]`` item_idx of ``item_vec``.
        log_q: ``[num_items]`` log sampling probability per item.
        temperature: Softmax temperature.
        label_offset: Column of row 0's positive.
        weights: Optional ``[B]`` example weights.
        neg_vec: Optional ``[R, d]`` uniformly sampled negative item vectors.
        neg_ids: ``[R]`` item_idx of ``neg_vec``.
        extra_logits: Optional ``[B, N]`` logits added to the in-batch ones (the time prior; ``-inf``
            where a candidate did not exist yet at the row's time).
        neg_extra_logits: The same ``[B, R]`` for the uniform negatives.

    Returns:
        The weighted mean cross-entropy (a scalar, float32).
    """
    u, v = user_vec.float(), item_vec.float()
    rows = torch.arange(u.shape[0], device=u.device)
    labels = rows + label_offset
    pos_ids = item_ids[labels]
    n = v.shape[0]
    logits = u @ v.T / temperature - (log_q[item_ids] + torch.log(torch.tensor(float(n), device=u.device)))[None, :]
    if extra_logits is not None:
        logits = logits + extra_logits
    hit = (item_ids[None, :] == pos_ids[:, None]) & (torch.arange(n, device=u.device)[None, :] != labels[:, None])
    logits = logits.masked_fill(hit, float("-inf"))
    if neg_vec is not None and neg_ids is not None and neg_vec.shape[0] > 0:
        expected = torch.log(torch.tensor(neg_vec.shape[0] / log_q.shape[0], device=u.device))
        neg_logits = u @ neg_vec.float().T / temperature - expected
        if neg_extra_logits is not None:
            neg_logits = neg_logits + neg_extra_logits
        neg_logits = neg_logits.masked_fill(neg_ids[None, :] == pos_ids[:, None], float("-inf"))
        logits = torch.cat([logits, neg_logits], dim=1)
    loss = F.cross_entropy(logits, labels, reduction="none")
    if weights is None:
        return loss.mean()
    w = weights.float()
    return (loss * w).sum() / w.sum().clamp(min=1e-12)


def save_model(model: TwoTower, path: str | Path, *, extra: dict[str, Any] | None = None) -> None:
    """Save weights and constructor arguments, so :func:`load_model` needs nothing else."""
    torch.save({"config": model.config, "state_dict": model.state_dict(), "extra": extra or {}}, str(path))


def load_model(path: str | Path, *, map_location: str | torch.device = "cpu") -> TwoTower:
    """Rebuild a :class:`TwoTower` saved by :func:`save_model` (in eval mode)."""
    blob = torch.load(str(path), map_location=map_location, weights_only=True)
    model = TwoTower(**blob["config"])
    model.load_state_dict(blob["state_dict"])
    return model.eval()


def autocast(device: torch.device, amp: str) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on CUDA when supported (``auto``) or when forced; off on CPU by default.

    On CPU, bf16 only pays on cores with AMX/AVX512-BF16 and this model is small, so ``auto`` keeps
    fp32 there; the loss itself is always computed in fp32.
    """
    if amp == "off":
        return contextlib.nullcontext()
    if device.type == "cuda" and (amp == "bf16" or torch.cuda.is_bf16_supported()):
        return torch.autocast("cuda", dtype=torch.bfloat16)
    if device.type == "cpu" and amp == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()

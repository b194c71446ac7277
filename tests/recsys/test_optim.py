"""The lazy Adam on the id tables (``train.sparse_ids``) against dense Adam, its oracle; and the epoch subsample.

Adam's first step from zero moments moves every parameter the same way whether the gradient is dense or row-sparse,
and a row that a step read gets the same moments either way; the one difference is a row a step did not read,
which dense Adam keeps moving on its momentum and the lazy Adam leaves where it is.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.recsys.core.data import DatasetMeta, ShardStream
from socialflywheel.recsys.core.model import TwoTower, sampled_softmax_loss
from socialflywheel.recsys.core.optim import TowerAdam
from socialflywheel.recsys.core.train_loop import train

USERS, ITEMS, AUTHORS, TAGS = 40, 30, 7, 11
ID_TABLES = ("user_id", "item_id", "author", "hashtag")  # the id tables
# SparseAdam adds eps to sqrt(v) before the bias correction, Adam after it: at eps = 1e-8 a coordinate whose
# gradient is ~1e-6 moves visibly differently. The test sets eps to 1e-30 so that only float rounding is left; a
# wrong update differs by ~lr = 0.05.
_EPS, _TOL = 1e-30, 1e-5


def _batch(gen: torch.Generator, rows: int, users: torch.Tensor, items: torch.Tensor) -> dict[str, torch.Tensor]:
    def pick(pool: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        return pool[torch.randint(0, len(pool), shape, generator=gen)]

    return {
        "user_idx": pick(users, (rows,)),
        "user_features": torch.randn(rows, 3, generator=gen),
        "user_history": torch.where(torch.rand(rows, 4, generator=gen) < 0.3, -1, pick(items, (rows, 4))),
        "item_idx": pick(items, (rows,)),
        "item_category": torch.randint(0, 3, (rows,), generator=gen),
        "item_author_idx": torch.randint(0, AUTHORS, (rows,), generator=gen),
        "item_hashtags": torch.where(torch.rand(rows, 2, generator=gen) < 0.5, -1, torch.randint(0, TAGS, (rows, 2))),
        "item_features": torch.randn(rows, 5, generator=gen),
    }


def _step(model: TwoTower, opt: TowerAdam, batch: dict[str, torch.Tensor]) -> None:
    users, items, _, _ = model(batch)
    loss = sampled_softmax_loss(users, items, batch["item_idx"], log_q=torch.zeros(ITEMS), temperature=0.1)
    opt.zero_grad()
    loss.backward()
    opt.step()


def _rows(table: torch.nn.Embedding, ids: torch.Tensor, *, shift: bool) -> torch.Tensor:
    """The table rows that ``ids`` read (the item and hashtag tables keep row 0 for padding)."""
    ids = ids[ids >= 0]
    return torch.unique(ids + 1 if shift else ids)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), rows=st.integers(2, 12), share=st.floats(0.1, 0.9))
def test_lazy_adam_equals_dense_adam_where_it_must_and_leaves_unread_rows_alone(
    seed: int, rows: int, share: float
) -> None:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    dense = TwoTower(
        num_users=USERS, num_items=ITEMS, num_categories=3, num_authors=AUTHORS, num_hashtags=TAGS,
        user_feature_dim=3, item_feature_dim=5, embedding_dim=8, hidden_dim=16,
    )  # fmt: skip
    lazy = copy.deepcopy(dense)
    opt_dense, opt_lazy = (
        TowerAdam(dense, lr=0.05, sparse=False, eps=_EPS),
        TowerAdam(lazy, lr=0.05, sparse=True, eps=_EPS),
    )
    assert opt_lazy.sparse is not None and opt_dense.sparse is None
    # step 1 reads a random share of the users and items, step 2 others: some rows are read once, some twice
    users, items = torch.randperm(USERS, generator=gen), torch.randperm(ITEMS, generator=gen)
    cut_u, cut_i = max(1, int(share * USERS)), max(1, int(share * ITEMS))
    first = _batch(gen, rows, users[:cut_u], items[:cut_i])
    second = _batch(gen, rows, users[cut_u // 2 :], items[cut_i // 2 :])

    for model, opt in ((dense, opt_dense), (lazy, opt_lazy)):
        _step(model, opt, first)
    for (name, a), b in zip(dense.named_parameters(), lazy.parameters(), strict=True):  # the first step: equal
        assert torch.allclose(a, b, atol=_TOL), name
    after_first = copy.deepcopy(lazy.state_dict())
    # rows with momentum: a nonzero gradient in step 1 (a row whose softmax held only its positive has none)
    momentum = {
        name: opt_dense.dense.state[getattr(dense, name).weight]["exp_avg"].ne(0).any(dim=1).clone()
        for name in ID_TABLES
    }
    for model, opt in ((dense, opt_dense), (lazy, opt_lazy)):
        _step(model, opt, second)

    read = {  # the rows step 2 read
        "user_id": _rows(lazy.user_id, second["user_idx"], shift=False),
        "item_id": _rows(lazy.item_id, torch.cat([second["item_idx"], second["user_history"].flatten()]), shift=True),
        "author": _rows(lazy.author, second["item_author_idx"], shift=False),
        "hashtag": _rows(lazy.hashtag, second["item_hashtags"].flatten(), shift=True),
    }
    for name, ids in read.items():
        padded = name in ("item_id", "hashtag")  # row 0 is their padding: never trained
        w_dense, w_lazy = getattr(dense, name).weight.detach(), getattr(lazy, name).weight.detach()
        ids = ids[ids > 0] if padded else ids
        unread = torch.ones(len(w_lazy), dtype=torch.bool)
        unread[ids] = False
        # a row step 2 read has the same moments and value in both; an unread row stays put in the lazy Adam
        assert torch.allclose(w_dense[ids], w_lazy[ids], atol=_TOL), name
        assert torch.equal(w_lazy[unread], after_first[f"{name}.weight"][unread]), name
        # dense Adam moves exactly the unread rows that have momentum from step 1
        moved = ~torch.isclose(w_dense[unread], after_first[f"{name}.weight"][unread]).all(dim=1)
        assert torch.equal(moved, momentum[name][unread]), name
    for (name, a), b in zip(dense.named_parameters(), lazy.parameters(), strict=True):  # the towers: equal
        if name.split(".")[0] not in read:
            assert torch.allclose(a, b, atol=_TOL), name


def test_a_checkpoint_of_the_other_optimizer_layout_is_refused_by_name() -> None:
    model = TwoTower(
        num_users=5, num_items=5, num_categories=1, num_authors=1, num_hashtags=1, user_feature_dim=1,
        item_feature_dim=1, embedding_dim=4, hidden_dim=4,
    )  # fmt: skip
    dense_state = TowerAdam(model, lr=0.1, sparse=False).state_dict()
    with pytest.raises(ValueError, match=r"train\.sparse_ids changed"):
        TowerAdam(model, lr=0.1, sparse=True).load_state_dict(dense_state)


def test_examples_per_epoch_trains_a_different_subsample_each_epoch(
    planted: tuple[Path, DatasetMeta], tmp_path: Path
) -> None:
    root, meta = planted
    stream = ShardStream(shards_dir=root / "train", meta=meta, per_rank_batch=256, seed=4, examples_per_epoch=1000)
    assert stream.steps_per_epoch == 4  # 1,000 examples in whole batches of 256
    seen = [{int(u) for b in stream.iter_epoch(e) for u in b["user_idx"] * 10_000 + b["item_idx"]} for e in (0, 1)]
    assert seen[0] != seen[1] and len(seen[0]) > 900
    kw = {"shards_dir": root / "train", "meta": meta, "batch_size": 256, "embedding_dim": 16, "hidden_dim": 16}
    result = train(out_dir=tmp_path / "sub", epochs=2, num_threads=1, examples_per_epoch=1000, **kw)  # type: ignore[arg-type]
    assert result.global_steps == 8 and result.examples_seen == 2048

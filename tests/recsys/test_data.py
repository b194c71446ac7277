"""The prepared-shard reader: padding, rank deal, equal step counts, deterministic order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from socialflywheel.recsys.core.data import DatasetMeta, ShardStream, assign_row_groups, pad_lists, scan_row_groups


def test_pad_lists_keeps_the_most_recent_history_and_the_first_hashtags() -> None:
    arr = pa.array([[1, 2, 3, 4], [], None, [7]], type=pa.list_(pa.int64())).slice(0, 4)
    assert pad_lists(arr, length=2, keep="last", pad=-1, dtype=np.int64).tolist() == [
        [3, 4],
        [-1, -1],
        [-1, -1],
        [7, -1],
    ]
    assert pad_lists(arr, length=3, keep="first", pad=-1, dtype=np.int64).tolist()[0] == [1, 2, 3]


def test_ranks_get_disjoint_row_groups_covering_everything(planted: tuple[Path, DatasetMeta]) -> None:
    refs = scan_row_groups(planted[0] / "train")
    for epoch in (0, 1):
        deals = [assign_row_groups(refs, rank=r, world_size=3, epoch=epoch, seed=1) for r in range(3)]
        got = sorted((x.path, x.index) for d in deals for x in d)
        assert got == sorted((x.path, x.index) for x in refs)
        assert all(deals)


def test_uneven_shards_give_every_rank_the_same_number_of_full_batches(uneven: tuple[Path, DatasetMeta]) -> None:
    root, meta = uneven
    streams = [
        ShardStream(
            shards_dir=root / "train", meta=meta, rank=r, world_size=2, per_rank_batch=64, seed=1, shuffle_buffer=512
        )
        for r in range(2)
    ]
    rows = [
        sum(x.num_rows for x in assign_row_groups(s.refs, rank=s.rank, world_size=2, epoch=0, seed=1)) for s in streams
    ]
    assert min(rows) < max(rows) / 5  # one rank really has far fewer rows
    counts = [sum(1 for b in s.iter_epoch(0) if len(b["user_idx"]) == 64) for s in streams]
    assert counts[0] == counts[1] == streams[0].steps_per_epoch == meta.train_rows // 128


def test_order_is_a_function_of_seed_and_epoch_and_resume_skips_exactly(planted: tuple[Path, DatasetMeta]) -> None:
    root, meta = planted
    s = ShardStream(shards_dir=root / "train", meta=meta, per_rank_batch=128, seed=4, shuffle_buffer=1024)
    first = [b["item_idx"] for b in s.iter_epoch(0)]
    again = [b["item_idx"] for b in s.iter_epoch(0)]
    other = [b["item_idx"] for b in s.iter_epoch(1)]
    resumed = [b["item_idx"] for b in s.iter_epoch(0, start_step=5)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    assert all(np.array_equal(a, b) for a, b in zip(first[5:], resumed, strict=True))
    seen = np.concatenate(first)
    assert len(np.unique(seen)) > 0.9 * meta.num_items * 0.9  # one epoch covers the catalogue's trained part

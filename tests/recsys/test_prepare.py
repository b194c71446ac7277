"""prepare_shards on a training-examples table built from the tiny simulation: histories, splits, counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.core.data import DatasetMeta, scan_row_groups
from socialflywheel.recsys.prepare import SplitLeakError, prepare_shards
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME
from tests.recsys.examples_fixture import recsys_lake


@pytest.fixture(scope="module")
def prepared(
    tmp_path_factory: pytest.TempPathFactory, tiny_lake: tuple[FlywheelConfig, Lake], spark: object
) -> tuple[Path, DatasetMeta, pa.Table, Lake]:
    cfg, lake = recsys_lake(tmp_path_factory.getbasetemp() / "recsys_tiny", tiny_lake[0], spark)
    source = lake.read_arrow(TRAINING_EXAMPLES_NAME)
    root = tmp_path_factory.mktemp("prepared")
    fresh = Lake.from_config(cfg)
    meta = prepare_shards(fresh, root, history_len=5, rows_per_group=256, batch_rows=2000, seed=1)
    return root, meta, source, fresh


def _secs(col: pa.ChunkedArray) -> np.ndarray:
    return pc.cast(col, pa.int64()).to_numpy() // 1_000_000


def test_row_counts_reconcile_with_source(prepared: tuple[Path, DatasetMeta, pa.Table, Lake]) -> None:
    root, meta, source, lake = prepared
    label = source.column("label").to_numpy()
    split = np.asarray(source.column("split").to_pylist())
    rows = meta.extra["rows"]
    assert isinstance(rows, dict)
    assert rows["read"] == source.num_rows
    assert meta.train_rows == rows["train_examples"] == int(((label == 1) & (split == "train")).sum()) > 500
    assert rows["val_positives"] == int(((label == 1) & (split == "val")).sum())
    assert rows["test_positives"] == int(((label == 1) & (split == "test")).sum())
    assert rows["negatives"] == int((label != 1).sum())
    assert sum(r.num_rows for r in scan_row_groups(root / "train")) == meta.train_rows
    assert len(scan_row_groups(root / "train")) >= 3  # several row groups
    assert sum(meta.item_counts) == meta.train_rows
    assert meta.num_users == len(set(source.column("user_id").to_pylist()))
    assert meta.extra["delta_versions"] == lake.versions_read
    assert set(lake.versions_read) == {TRAINING_EXAMPLES_NAME, "silver.posts"}


def test_histories_are_strictly_before_ts(prepared: tuple[Path, DatasetMeta, pa.Table, Lake]) -> None:
    root, _meta, source, _ = prepared
    users = pq.read_table(root / "users.parquet")
    items = pq.read_table(root / "items.parquet", columns=["item_idx", "post_id"])
    uid = dict(zip(users.column("user_idx").to_pylist(), users.column("user_id").to_pylist(), strict=True))
    pid = dict(zip(items.column("item_idx").to_pylist(), items.column("post_id").to_pylist(), strict=True))
    pos = source.filter(pc.equal(source.column("label"), 1))
    ts = _secs(pos.column("ts"))
    by_user: dict[str, list[tuple[int, str]]] = {}
    for u, p, t in zip(pos.column("user_id").to_pylist(), pos.column("post_id").to_pylist(), ts, strict=True):
        by_user.setdefault(u, []).append((int(t), p))
    train = pq.read_table(root / "train")
    checked = nonempty = 0
    for row in train.slice(0, 400).to_pylist():
        hist = [pid[i] for i in row["user_history"]]
        events = sorted(by_user[uid[row["user_idx"]]], key=lambda e: (e[0], e[1]))
        expected = [p for t, p in events if t < row["ts"]][-5:]
        assert hist == expected
        checked += 1
        nonempty += bool(hist)
    assert checked == 400 and nonempty > 100


def test_no_split_leakage(prepared: tuple[Path, DatasetMeta, pa.Table, Lake]) -> None:
    root, meta, _, _ = prepared
    val_start, test_start = int(meta.extra["val_start_ts"]), int(meta.extra["test_start_ts"])  # type: ignore[call-overload]
    train_ts = pq.read_table(root / "train", columns=["ts"]).column("ts").to_numpy()
    val_ts = pq.read_table(root / "val" / "targets.parquet").column("ts").to_numpy()
    test_ts = pq.read_table(root / "test" / "targets.parquet").column("ts").to_numpy()
    assert train_ts.max() < val_start <= val_ts.min() and val_ts.max() < test_start <= test_ts.min()
    for name in ("val", "test"):
        seen = pq.read_table(root / name / "seen.parquet")
        tgt = pq.read_table(root / name / "targets.parquet")
        n = meta.num_items
        s = set((seen.column("user_idx").to_numpy() * n + seen.column("item_idx").to_numpy()).tolist())
        t = (tgt.column("user_idx").to_numpy() * n + tgt.column("item_idx").to_numpy()).tolist()
        assert len(t) > 20 and not s.intersection(t)
        q = pq.read_table(root / name / "queries.parquet")
        assert set(q.column("user_idx").to_pylist()) == set(tgt.column("user_idx").to_pylist())


def test_overlapping_splits_are_refused(tmp_path: Path, prepared: tuple[Path, DatasetMeta, pa.Table, Lake]) -> None:
    _, _, source, lake = prepared
    from tests.conftest import make_config

    bad_lake = Lake.from_config(make_config(tmp_path / "bad"))
    split = np.asarray(source.column("split").to_pylist(), dtype=object)
    split[np.flatnonzero(split == "test")[:3]] = "train"
    bad = source.set_column(source.schema.get_field_index("split"), "split", pa.array(split.tolist()))
    bad_lake.write_arrow(bad, TRAINING_EXAMPLES_NAME, mode="overwrite")
    posts = lake.read_arrow("silver.posts")
    bad_lake.write_arrow(posts, "silver.posts", mode="overwrite")
    with pytest.raises(SplitLeakError):
        prepare_shards(bad_lake, tmp_path / "out")


def _train_shards(root: Path) -> list[pa.Table]:
    return [pq.read_table(p) for p in sorted((root / "train").glob("*.parquet"))]


def test_shards_depend_on_rows_and_seed_not_on_file_layout(
    tmp_path: Path, prepared: tuple[Path, DatasetMeta, pa.Table, Lake]
) -> None:
    """The same rows in another file layout and order give identical shards; another seed reshuffles them."""
    root, meta, source, lake = prepared
    from tests.conftest import make_config

    other = Lake.from_config(make_config(tmp_path / "relaid"))
    reversed_rows = source.take(pa.array(np.arange(source.num_rows)[::-1]))
    half = source.num_rows // 2
    other.write_arrow(reversed_rows.slice(0, half), TRAINING_EXAMPLES_NAME, mode="overwrite")
    other.write_arrow(reversed_rows.slice(half), TRAINING_EXAMPLES_NAME, mode="append")
    other.write_arrow(lake.read_arrow("silver.posts"), "silver.posts", mode="overwrite")
    again = prepare_shards(other, tmp_path / "again", history_len=5, rows_per_group=256, batch_rows=777, seed=1)
    assert again.extra["source_files"] != meta.extra["source_files"]
    mine, theirs = _train_shards(root), _train_shards(tmp_path / "again")
    assert len(mine) == len(theirs) >= 3
    for a, b in zip(mine, theirs, strict=True):
        assert a.equals(b)
    prepare_shards(other, tmp_path / "seed2", history_len=5, rows_per_group=256, batch_rows=777, seed=2)
    seed2 = _train_shards(tmp_path / "seed2")
    assert [t.num_rows for t in seed2] == [t.num_rows for t in mine]
    assert not all(a.equals(b) for a, b in zip(mine, seed2, strict=True))
    key = [("ts", "ascending"), ("user_idx", "ascending"), ("item_idx", "ascending"), ("weight", "ascending")]
    cols = [k for k, _ in key]
    both = [pa.concat_tables(t).sort_by(key).select(cols) for t in (mine, seed2)]
    assert both[0].equals(both[1])  # the same rows, dealt differently


def test_time_blocks_follow_time_and_are_shuffled_inside(
    tmp_path: Path, prepared: tuple[Path, DatasetMeta, pa.Table, Lake]
) -> None:
    _, meta, _, lake = prepared
    root = tmp_path
    prepare_shards(lake, root, history_len=5, rows_per_group=256, seed=1, shard_order="time")
    shards = _train_shards(root)
    sizes = [t.num_rows for t in shards]
    assert sum(sizes) == meta.train_rows and max(sizes) - min(sizes) <= 1
    assert all(pq.ParquetFile(p).metadata.num_row_groups == 1 for p in (root / "train").glob("*.parquet"))
    spans = [(int(pc.min(t.column("ts")).as_py()), int(pc.max(t.column("ts")).as_py())) for t in shards]
    assert all(spans[k][1] <= spans[k + 1][0] for k in range(len(spans) - 1))
    for t in shards:
        ts = t.column("ts").to_numpy()
        assert (np.diff(ts) < 0).sum() > len(ts) // 4  # not in time order inside the block


def test_random_order_is_one_global_shuffle(prepared: tuple[Path, DatasetMeta, pa.Table, Lake]) -> None:
    root, meta, _, _ = prepared  # the default order
    shards = _train_shards(root)
    assert sum(t.num_rows for t in shards) == meta.train_rows
    lo, hi = int(meta.extra["val_start_ts"]), 0  # type: ignore[call-overload]
    for t in shards:  # every block spans (nearly) the whole train period
        ts = t.column("ts").to_numpy()
        lo, hi = min(lo, int(ts.min())), max(hi, int(ts.max()))
    span = hi - lo
    for t in shards:
        ts = t.column("ts").to_numpy()
        assert ts.max() - ts.min() > 0.8 * span


def test_refit_set_is_train_and_val_positives(prepared: tuple[Path, DatasetMeta, pa.Table, Lake]) -> None:
    """refit/ holds every train and validation positive (nothing from test) with counts that cover both."""
    root, meta, source, _ = prepared
    label = source.column("label").to_numpy()
    split = np.asarray(source.column("split").to_pylist())
    expected = int(((label == 1) & np.isin(split, ["train", "val"])).sum())
    refit = DatasetMeta.load(root / "refit")
    rows = pq.read_table(root / "refit" / "train")
    assert refit.train_rows == rows.num_rows == expected > meta.train_rows
    assert sum(refit.item_counts) == expected
    assert np.bincount(rows.column("item_idx").to_numpy(), minlength=meta.num_items).tolist() == refit.item_counts
    ts = rows.column("ts").to_numpy()
    assert ts.max() < int(meta.extra["test_start_ts"]) <= ts.max() + 10 * 86400  # type: ignore[call-overload]
    assert (ts >= int(meta.extra["val_start_ts"])).sum() == expected - meta.train_rows  # type: ignore[call-overload]
    train = pq.read_table(root / "train")
    key = ["ts", "user_idx", "item_idx", "weight"]
    early = rows.filter(pc.less(rows.column("ts"), int(meta.extra["val_start_ts"])))  # type: ignore[call-overload]
    order = [(k, "ascending") for k in key]
    assert early.select(key).sort_by(order).equals(train.select(key).sort_by(order))


def test_block_spill_with_fewer_open_files_than_blocks(tmp_path: Path) -> None:
    """Blocks sharing a spill file still come out one file each, every row once, in position order."""
    from socialflywheel.recsys.shards import BlockSpill

    rng = np.random.default_rng(0)
    n, blocks = 5000, 9
    position = rng.permutation(n)
    spill = BlockSpill(tmp_path / "train", rows=n, blocks=blocks, max_open=2)
    for lo in range(0, n, 700):  # batches in arbitrary order
        sl = slice(lo, lo + 700)
        spill.add(pa.table({"row": np.arange(n)[sl]}), position[sl])
    assert len(spill.writers) == 2 and spill.finish() == n
    assert not (tmp_path / "train" / "_spill").exists()
    parts = sorted((tmp_path / "train").glob("part-*.parquet"))
    assert [p.name for p in parts] == [f"part-{b:05d}.parquet" for b in range(blocks)]
    written = np.concatenate([pq.read_table(p).column("row").to_numpy() for p in parts])
    assert (position[written] == np.arange(n)).all()  # every row once, at its position
    sizes = [pq.read_metadata(p).num_rows for p in parts]
    assert max(sizes) - min(sizes) <= 1 and all(pq.read_metadata(p).num_row_groups == 1 for p in parts)


def test_validation_on_a_fixed_sample_of_its_users(
    tmp_path: Path, prepared: tuple[Path, DatasetMeta, pa.Table, Lake]
) -> None:
    """train.val_max_users: the val split keeps a sample of its users with all their targets and seen pairs, the same
    sample for every training seed; the test split is untouched."""
    root, meta, _, lake = prepared
    users = meta.extra["rows"]["val_users"]
    assert users == meta.extra["rows"]["val_query_users"] > 4
    cap = users // 2
    for seed in (1, 2):
        small = prepare_shards(
            lake,
            tmp_path / f"s{seed}",
            history_len=5,
            rows_per_group=256,
            batch_rows=2000,
            seed=seed,
            val_max_users=cap,
        )
        assert small.extra["rows"]["val_users"] == users and small.extra["rows"]["val_query_users"] == cap
    full = {n: pq.read_table(root / "val" / f"{n}.parquet") for n in ("queries", "targets", "seen")}
    part = {n: pq.read_table(tmp_path / "s1" / "val" / f"{n}.parquet") for n in ("queries", "targets", "seen")}
    assert part["queries"].equals(pq.read_table(tmp_path / "s2" / "val" / "queries.parquet"))
    kept = part["queries"].column("user_idx")
    assert len(kept) == cap and set(kept.to_pylist()) <= set(full["queries"].column("user_idx").to_pylist())
    for name in ("targets", "seen"):  # exactly the full split's rows of the sampled users
        mine = full[name].filter(pc.is_in(full[name].column("user_idx"), kept))
        key = [(c, "ascending") for c in mine.column_names]
        assert mine.num_rows and part[name].sort_by(key).equals(mine.sort_by(key)), name
    for name in ("queries", "targets", "seen"):
        assert pq.read_table(tmp_path / "s1" / "test" / f"{name}.parquet").equals(
            pq.read_table(root / "test" / f"{name}.parquet")
        )

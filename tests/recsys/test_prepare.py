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
    meta = prepare_shards(fresh, root, history_len=5, rows_per_group=1024, batch_rows=2000, seed=1)
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

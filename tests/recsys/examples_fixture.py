"""gold.training_examples for the recsys tests: the features job on a private copy of a simulated lake.

:func:`recsys_lake` runs the real features job (``socialflywheel.features.job.run_features``).
:func:`build_examples` is a Spark-free stand-in with the same columns, built from silver alone, for
tests that need a table with chosen properties. Its rows: every view/like/share/comment/click
event; ``label`` 1 for engagements (like, share, comment, click), 0 for views; user and item
features as of the previous day (log counts); splits by time (last ``test_days`` test, the
``validation_days`` before them val).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME
from tests.conftest import copy_lake

DAY = 86_400
ENGAGED = ("like", "share", "comment", "click")
WEIGHTS = {"view": 1.0, "like": 1.0, "click": 1.0, "comment": 2.0, "share": 3.0}
_CACHE: dict[str, tuple[FlywheelConfig, Lake]] = {}


def _before_day(keys: np.ndarray, ts: np.ndarray, day_start: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per row: sum of ``weights`` of rows with the same key and ts before the row's day start."""
    order = np.lexsort((ts, keys))
    k, t, w = keys[order], ts[order], weights[order]
    csum = np.concatenate([[0.0], np.cumsum(w)])
    combined = k.astype(np.float64) * 1e10 + t
    pos = np.searchsorted(combined, keys.astype(np.float64) * 1e10 + day_start, side="left")
    start = np.searchsorted(k, keys, side="left")
    return csum[pos] - csum[start]


def build_examples(lake: Lake, *, test_days: int = 3, validation_days: int = 2) -> pa.Table:
    """The training-examples table (Arrow) of a lake with silver.events and silver.posts."""
    cols = ["event_id", "event_type", "user_id", "post_id", "ts", "device", "dwell_ms"]
    ev = lake.read_arrow("silver.events", columns=cols)
    ev = ev.filter(pc.is_in(ev.column("event_type"), pa.array(["view", *ENGAGED])))
    ev = ev.filter(pc.and_(pc.is_valid(ev.column("user_id")), pc.is_valid(ev.column("post_id"))))
    posts = lake.read_arrow("silver.posts", columns=["post_id", "author_id", "category", "hashtags", "created_at"])
    at = pc.index_in(ev.column("post_id"), value_set=posts.column("post_id"))
    ev = ev.filter(pc.is_valid(at))
    post_rows = posts.take(pc.drop_null(at))
    for name in ("author_id", "category", "hashtags", "created_at"):
        ev = ev.append_column(name, post_rows.column(name))
    ts = pc.cast(ev.column("ts"), pa.int64()).to_numpy() // 1_000_000
    created = pc.cast(ev.column("created_at"), pa.int64()).to_numpy() // 1_000_000
    etype = np.asarray(ev.column("event_type").to_pylist(), dtype=object)
    label = np.isin(etype, ENGAGED).astype(np.int32)
    weight = np.array([WEIGHTS[e] for e in etype], dtype=np.float64)
    day_start = ts // DAY * DAY
    users = pc.dictionary_encode(ev.column("user_id")).combine_chunks().indices.to_numpy()
    items = pc.dictionary_encode(ev.column("post_id")).combine_chunks().indices.to_numpy()
    ones = np.ones(len(ts))
    u_events = _before_day(users, ts, day_start, ones)
    u_pos = _before_day(users, ts, day_start, label.astype(np.float64))
    i_pos = _before_day(items, ts, day_start, label.astype(np.float64))
    age = np.clip((day_start - created) / DAY, 0, 60)
    end_day = int(day_start.max()) // DAY
    test_from = (end_day - test_days + 1) * DAY
    val_from = test_from - validation_days * DAY
    split = np.where(ts >= test_from, "test", np.where(ts >= val_from, "val", "train"))
    feats_u = np.stack([np.log1p(u_events), np.log1p(u_pos)], axis=1)
    feats_i = np.stack([np.log1p(i_pos), age / 30.0], axis=1)
    ts_col = pa.array(ts * 1_000_000, pa.timestamp("us", tz="UTC"))
    as_of = pa.array((ts // DAY - 1).astype(np.int32), pa.date32())
    day_ts = pa.array((day_start - 1) * 1_000_000, pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "event_id": ev.column("event_id"),
            "user_id": ev.column("user_id"),
            "post_id": ev.column("post_id"),
            "author_id": ev.column("author_id"),
            "category": ev.column("category"),
            "hashtags": ev.column("hashtags"),
            "ts": ts_col,
            "label": pa.array(label, pa.int32()),
            "weight": pa.array(weight),
            "split": pa.array(split.tolist(), pa.string()),
            "device": ev.column("device"),
            "hour": pa.array(((ts % DAY) // 3600).astype(np.int32)),
            "dow": pa.array((((ts // DAY) + 3) % 7).astype(np.int32)),
            "dwell_ms": ev.column("dwell_ms"),
            "post_age_hours": pa.array((ts - created) / 3600.0),
            "features_as_of_date": as_of,
            "user_features": pa.array(feats_u.tolist(), pa.list_(pa.float64())),
            "item_features": pa.array(feats_i.tolist(), pa.list_(pa.float64())),
            "user_features_ts": day_ts,
            "item_features_ts": day_ts,
            "event_date": pa.array((ts // DAY).astype(np.int32), pa.date32()),
        }
    )


def write_training_examples(lake: Lake, **kwargs: int) -> pa.Table:
    """Build and (over)write gold.training_examples with delta-rs; returns what was written."""
    data = build_examples(lake, **kwargs)
    lake.write_arrow(data, TRAINING_EXAMPLES_NAME, mode="overwrite")
    return data


def recsys_lake(base: Path, source: FlywheelConfig, spark: Any) -> tuple[FlywheelConfig, Lake]:
    """A private copy of ``source``'s lake with the features job's gold tables, built once per test process."""
    from socialflywheel.features.job import run_features

    key = f"{base}:{source.work_path}"
    if key not in _CACHE:
        cfg, lake = copy_lake(source, base)
        run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
        _CACHE[key] = (cfg, Lake.from_config(cfg))
    return _CACHE[key]

"""gold.training_examples: labels and splits by hand, and point-in-time features on the tiny lake."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from tests.features.test_user_features import day, write_hand_lake


def _examples(spark: Any, lake: Any, **kw: Any) -> Any:
    from socialflywheel.features.item_features import item_features
    from socialflywheel.features.training_examples import training_examples
    from socialflywheel.features.user_features import user_features

    events, posts = lake.read(spark, "silver.events"), lake.read(spark, "silver.posts")
    cats = kw.pop("categories")
    uf = user_features(events, posts, windows_days=[1, 7, 28], categories=cats)
    itf = item_features(events, posts, velocity_hours=[1, 6, 24])
    return training_examples(
        events, posts, uf, itf, windows_days=[1, 7, 28], categories=cats, velocity_hours=[1, 6, 24], **kw
    )


def test_labels_splits_context_by_hand(spark: Any, tmp_path: Path) -> None:
    _, lake = write_hand_lake(spark, tmp_path / "w")
    rows = {
        r["event_id"]: r
        for r in _examples(spark, lake, categories=["food", "tech"], test_days=2, validation_days=3)
        .toArrow()
        .to_pylist()
    }
    assert set(rows) == {"a1", "a3", "a4", "a5"}  # one row per view
    assert {k: r["label"] for k, r in rows.items()} == {"a1": 1, "a3": 0, "a4": 0, "a5": 1}
    # a1: liked 5 min later; a5: 25 s dwell (and a like 20 min later, after midnight); a3/a4: neither
    assert {r["split"] for r in rows.values()} == {"train"}  # days 1 and 3; val = days 6-8, test = 9-10
    a4 = rows["a4"]
    assert (a4["hour"], a4["dow"], a4["device"]) == (11, 7, "ios")  # 2026-10-03 is a Saturday
    assert (a4["author_id"], a4["category"], a4["hashtags"], a4["weight"]) == ("B", "food", ["f"], 1.0)
    assert a4["features_as_of_date"] == day(2)
    assert a4["post_age_hours"] == pytest.approx(51.0)
    # user vector position 3 = log1p(view_1d), 4 = log1p(view_7d): as of day 2, A had one view (day 1)
    assert a4["user_features"][3:5] == pytest.approx([0.0, math.log(2)])
    assert rows["a1"]["user_features"] == [0.0] * len(rows["a1"]["user_features"])  # no snapshot before day 1
    late = {
        r["event_id"]: r["split"]
        for r in _examples(spark, lake, categories=["food", "tech"], test_days=8, validation_days=1)
        .toArrow()
        .to_pylist()
    }
    assert late == {"a1": "train", "a3": "test", "a4": "test", "a5": "test"}  # day 10 - 8 + 1 = day 3 starts test


def test_risky_accounts_are_left_out_as_viewers_and_authors(spark: Any, tmp_path: Path) -> None:
    _, lake = write_hand_lake(spark, tmp_path / "w")
    risky = spark.createDataFrame([("C",)], "user_id string")
    got = _examples(spark, lake, categories=["food", "tech"], risky=risky).toArrow()
    assert sorted(got.column("event_id").to_pylist()) == ["a1", "a4"]  # views of C's p2 are gone


@pytest.fixture(scope="module")
def tiny_inputs(spark: Any, tiny_lake: Any) -> dict[str, Any]:
    from socialflywheel.features.item_features import item_features
    from socialflywheel.features.job import category_vocabulary
    from socialflywheel.features.user_features import user_features

    _, lake = tiny_lake
    events, posts = lake.read(spark, "silver.events"), lake.read(spark, "silver.posts")
    cats = category_vocabulary(lake)
    return {
        "events": events,
        "posts": posts,
        "user_features": user_features(events, posts, windows_days=[1, 7, 28], categories=cats).cache(),
        "item_features": item_features(events, posts, velocity_hours=[1, 6, 24]).cache(),
        "categories": cats,
    }


@pytest.mark.parametrize("offset", [1, 0])
def test_point_in_time_features_never_see_the_example(spark: Any, tiny_inputs: dict, offset: int) -> None:
    """offset=1 is the real join: no vector includes the example's own or later events; offset=0 leaks."""
    from socialflywheel.features.training_examples import training_examples

    inp = dict(tiny_inputs)
    cats = inp.pop("categories")
    got = (
        training_examples(
            **inp, windows_days=[1, 7, 28], categories=cats, velocity_hours=[1, 6, 24], as_of_offset_days=offset
        )
        .toArrow()
        .to_pylist()
    )
    with_user = [r for r in got if r["user_features_ts"] is not None]
    with_item = [r for r in got if r["item_features_ts"] is not None]
    assert len(got) > 1000 and len(with_user) > len(got) / 2 and len(with_item) > len(got) / 2
    leaks = sum(r["user_features_ts"] >= r["ts"] for r in with_user) + sum(
        r["item_features_ts"] >= r["ts"] for r in with_item
    )
    if offset == 1:
        assert leaks == 0
        assert all(r["features_as_of_date"] < r["ts"].date() for r in got)
    else:
        assert leaks > len(got) / 4  # every example's own view is inside its item snapshot


def test_user_vector_counts_match_the_raw_events(spark: Any, tiny_inputs: dict) -> None:
    """The log1p(view_28d) position equals the user's views of the 28 days before the example's day."""
    from collections import Counter

    from pyspark.sql import functions as F

    from socialflywheel.features.training_examples import training_examples
    from socialflywheel.features.user_features import user_feature_names

    inp = dict(tiny_inputs)
    cats = inp.pop("categories")
    ex = training_examples(**inp, windows_days=[1, 7, 28], categories=cats, velocity_hours=[1, 6, 24])
    sample = ex.where(F.col("event_date") == F.lit(dt.date(2026, 10, 10))).toArrow().to_pylist()
    views = Counter(
        (r["user_id"], r["event_date"])
        for r in tiny_inputs["events"].where("event_type = 'view'").select("user_id", "event_date").collect()
    )
    pos = user_feature_names(windows_days=[1, 7, 28], categories=cats).index("log1p_view_28d")
    assert sample
    for r in sample:
        expected = sum(n for (u, d), n in views.items() if u == r["user_id"] and d < r["event_date"])
        assert round(math.expm1(r["user_features"][pos])) == expected


def test_per_person_split_matches_the_rating_bench_split(spark: Any) -> None:
    """features.split_by=user_time cuts each person's rows as recsys.ratings.per_user_split does (the oracle)."""
    import numpy as np

    from socialflywheel.features.training_examples import _user_cuts
    from socialflywheel.recsys.ratings import per_user_split

    rng = np.random.default_rng(3)
    users = rng.integers(0, 40, 3000)
    secs = rng.integers(0, 400, 3000)  # few distinct times per person: ties straddle no cut
    base = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    rows = [(f"u{u}", base + dt.timedelta(seconds=int(s))) for u, s in zip(users, secs, strict=True)]
    df = spark.createDataFrame(rows, "user_id string, ts timestamp")
    cuts = {r["user_id"]: (r["_val_cut"], r["_test_cut"]) for r in _user_cuts(df, 0.1, 0.2).collect()}
    got = []
    for user, when in rows:
        val_cut, test_cut = (c.replace(tzinfo=dt.UTC) if c.tzinfo is None else c for c in cuts[user])
        got.append("test" if when >= test_cut else "val" if when >= val_cut else "train")
    want = per_user_split(users, secs, val_share=0.1, test_share=0.2)
    assert got == list(want)

"""A device's (hashtag, day) items against a plain-Python oracle, over any rows a device may hold."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from socialflywheel.federated.partition import device_items

DAY0, DAYS = 20_000, 5
VOCAB = ["a", "b", "über", "x1"]
TAG = st.one_of(st.none(), st.sampled_from(["a", "A", "b", "Über", "X1", "zz", "", "a "]))
ROW = st.tuples(
    st.one_of(st.none(), st.integers((DAY0 - 2) * 86_400, (DAY0 + DAYS + 2) * 86_400)),  # seconds, or no time
    st.one_of(st.none(), st.lists(TAG, max_size=4)),
)


def oracle(rows: list[tuple[int | None, list[str | None] | None]]) -> list[int]:
    items = set()
    for ts, tags in rows:
        if ts is None:
            continue
        day = ts // 86_400 - DAY0
        for t in tags or []:
            if t is not None and t.lower() in VOCAB and 0 <= day < DAYS:
                items.add(VOCAB.index(t.lower()) * DAYS + day)
    return sorted(items)


@settings(max_examples=300, deadline=None)
@given(st.lists(ROW, max_size=12), st.sampled_from(["s", "ms", "us"]))
def test_items_match_the_oracle_for_any_rows(rows: list[tuple[int | None, list[str | None] | None]], unit: str) -> None:
    scale = {"s": 1, "ms": 1_000, "us": 1_000_000}[unit]
    ts = pa.array([None if t is None else t * scale + scale // 2 for t, _ in rows], pa.timestamp(unit, "UTC"))
    tags = pa.array([t for _, t in rows])  # list<null> when every list is empty or null: a device's files vary
    table = pa.table({"ts": ts, "hashtags": tags if len(rows) else pa.array([], pa.list_(pa.string()))})
    got = device_items(table, VOCAB, DAY0, DAYS)
    assert got.dtype == np.int64
    assert got.tolist() == oracle(rows)


def test_a_timestamp_before_1970_falls_on_its_own_day() -> None:
    ts = pa.array([dt.datetime(1969, 12, 31, 23, 0, tzinfo=dt.UTC)], pa.timestamp("us", "UTC"))
    got = device_items(pa.table({"ts": ts, "hashtags": [["a"]]}), VOCAB, -1, 2)
    assert got.tolist() == [0]  # day -1 is the first of the range

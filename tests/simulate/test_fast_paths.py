"""The simulator's fast paths give what the NumPy/Arrow calls they replace give; chunks in flight are bounded."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from socialflywheel.simulate import engine
from socialflywheel.simulate.activity import _time_order
from socialflywheel.simulate.files import TASK_SCHEMA
from socialflywheel.simulate.graph import _rank_by_round
from socialflywheel.simulate.isotime import iso_timestamps
from socialflywheel.simulate.sets import lexsort, sorted_member, unique


def test_iso_timestamps_match_arrow_strftime() -> None:
    rng = np.random.default_rng(5)
    edges = [0, -1, 951_782_400_000, 951_868_799_999, 4_107_542_400_000, 253_402_300_799_999, -62_135_596_800_000]
    wide = np.concatenate([rng.integers(-(10**12), 10**13, 50_000), edges])  # many distinct days
    period = np.sort(rng.integers(1_790_000_000_000, 1_790_000_000_000 + 28 * 86_400_000, 50_000))  # few days
    for ms in (wide, period):
        expected = pc.strftime(pa.array(ms.astype("datetime64[ms]")), format="%Y-%m-%dT%H:%M:%SZ")
        assert iso_timestamps(ms).equals(expected)
    framed = iso_timestamps(period[:3], prefix=',"ts":"', suffix='"').to_pylist()
    assert framed == [f',"ts":"{t}"' for t in iso_timestamps(period[:3]).to_pylist()]
    assert len(iso_timestamps(np.zeros(0, np.int64))) == 0


def test_sorted_set_helpers_match_numpy() -> None:
    rng = np.random.default_rng(6)
    keys = rng.integers(0, 5_000, 20_000)
    assert np.array_equal(unique(keys), np.unique(keys))
    assert len(unique(keys[:0])) == 0
    have = np.unique(rng.integers(0, 5_000, 3_000))
    assert np.array_equal(sorted_member(keys, have), np.isin(keys, have))
    assert not sorted_member(keys, have[:0]).any()
    minor = rng.integers(0, 3, 20_000)
    assert np.array_equal(lexsort((minor, keys)), np.lexsort((minor, keys)))  # ties in both keys too


def test_edge_ranks_match_lexsort() -> None:
    rng = np.random.default_rng(7)
    made_in = rng.integers(0, 24, 30_000)
    u = rng.random(30_000)
    u[:100] = u[100:200]  # ties in both keys keep their order, as lexsort's do
    made_in[:100] = made_in[100:200]
    assert np.array_equal(_rank_by_round(made_in, u), np.argsort(np.lexsort((u, made_in))))


def test_chunks_in_flight_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    running, peak, lock = 0, 0, threading.Lock()

    def slow_chunk(*_: Any) -> pa.RecordBatch:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return pa.RecordBatch.from_pylist([], schema=TASK_SCHEMA)

    monkeypatch.setattr(engine, "write_chunk", slow_chunk)
    threads = [
        threading.Thread(target=engine.bounded_write_chunk, args=(None, k, 12, Path("."), ["json"], {}))
        for k in range(12)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= peak <= engine.MAX_CONCURRENT_CHUNKS


def test_time_order_matches_lexsort_with_ties() -> None:
    rng = np.random.default_rng(8)
    for n, span in ((100_000, 10**9), (20_000, 50), (5_000, 3)):
        ts, user = rng.integers(0, span, n), rng.integers(0, 40, n)
        etype, id_num = rng.integers(0, 3, n), rng.integers(0, 4, n)  # full ties too: kept in input order
        assert np.array_equal(_time_order(ts, user, etype, id_num), np.lexsort((id_num, etype, user, ts)))

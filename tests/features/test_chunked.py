"""The snapshot tables built in date chunks equal the build in one piece, column for column.

A chunk reads its days, the lookback its windows need and one aggregate per person or post over the earlier days
(``Span``); every running total, window, session, dwell percentile, follower count and reshare must come out as
the whole-lake build computes it. Checked on the tiny lake for every chunk length from one day to the whole range
(chunk edges fall on every day, so every carried quantity crosses an edge), and on the default lake with the
job's default chunking.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from socialflywheel.features.item_features import item_features
from socialflywheel.features.job import Plan, snapshot_spans
from socialflywheel.features.user_features import user_features
from socialflywheel.lake.catalog.stages import ITEM_FEATURES, TRAINING_EXAMPLES, USER_FEATURES

KEYS = {USER_FEATURES.name: ["user_id", "as_of_date"], ITEM_FEATURES.name: ["post_id", "as_of_date"]}


def _build(
    name: str,
    events: Any,
    posts: Any,
    fc: Any,
    cats: list[str],
    since: str | None,
    until: str | None,
    bucket: tuple[int, int] | None = None,
) -> Any:
    if name == USER_FEATURES.name:
        df = user_features(
            events,
            posts,
            windows_days=fc.windows_days,
            categories=cats,
            session_gap_minutes=fc.session_gap_minutes,
            since=since,
            until=until,
            bucket=bucket,
        )
    else:
        df = item_features(events, posts, velocity_hours=fc.velocity_hours, since=since, until=until)
    return df.toArrow()


def _rows(tables: list[Any], keys: list[str]) -> list[dict[str, Any]]:
    import pyarrow as pa

    return pa.concat_tables(tables).sort_by([(k, "ascending") for k in keys]).to_pylist()


def _same(got: Any, want: Any) -> bool:
    """Equal, floats to 12 significant digits (sums of the same values may be added in another order)."""
    if isinstance(want, float) and isinstance(got, float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(want, list) and isinstance(got, list):
        return len(got) == len(want) and all(_same(g, w) for g, w in zip(got, want, strict=True))
    if isinstance(want, tuple) and isinstance(got, tuple):
        return _same(list(got), list(want))
    return bool(got == want)


def assert_chunks_equal_whole(spark: Any, fc: Any, lake: Any, name: str, chunk_days: int, buckets: int = 1) -> int:
    """Build ``name`` whole and in chunks of ``chunk_days`` (user snapshots: and ``buckets`` pieces of the people
    in each); assert equal row for row, column for column."""
    from socialflywheel.features.job import _event_dates, category_vocabulary

    events, posts = lake.read(spark, "silver.events"), lake.read(spark, "silver.posts")
    cats = category_vocabulary(lake)
    dates = _event_dates(lake).values()
    plan = Plan("full", max(dates))
    spans = snapshot_spans(plan, min(dates), chunk_days=chunk_days)
    assert len(spans) == -(-((max(dates) - min(dates)).days + 1) // chunk_days)
    whole = _rows([_build(name, events, posts, fc, cats, None, None)], KEYS[name])
    pieces = [(b, buckets) for b in range(buckets)] if buckets > 1 else [None]
    chunks = _rows([_build(name, events, posts, fc, cats, s, u, p) for s, u in spans for p in pieces], KEYS[name])
    assert len(chunks) == len(whole) > 0
    key = KEYS[name][0]
    last = max(r["as_of_date"] for r in whole)  # segments read the last day alone as everyone's latest snapshot
    assert {r[key] for r in whole if r["as_of_date"] == last} == {r[key] for r in whole}
    for got, want in zip(chunks, whole, strict=True):
        key = {k: want[k] for k in KEYS[name]}
        assert {k: got[k] for k in KEYS[name]} == key, f"{name}: rows differ in key near {key}"
        bad = [c for c in want if not _same(got[c], want[c])]
        assert not bad, f"{name} {key}: chunked {[(c, got[c]) for c in bad]} != whole {[(c, want[c]) for c in bad]}"
    return len(whole)


@pytest.mark.parametrize("name", list(KEYS))
@pytest.mark.parametrize(
    ("chunk_days", "windows"),
    [pytest.param(1, [1, 2], marks=pytest.mark.extended), (3, [1, 3]), (4, [2, 5]), (13, [1, 7, 28])],
)  # one-day chunks (14 of them, the slowest) in `make test-extended`
def test_chunks_equal_whole_on_tiny_lake(
    spark: Any, tiny_lake: Any, name: str, chunk_days: int, windows: list[int]
) -> None:
    """Windows shorter than the lake, so a chunk reads only its lookback and carries the rest."""
    cfg, lake = tiny_lake
    fc = cfg.features.model_copy(update={"windows_days": windows})
    assert_chunks_equal_whole(spark, fc, lake, name, chunk_days)


@pytest.mark.parametrize(("chunk_days", "buckets"), [pytest.param(14, 40, marks=pytest.mark.extended), (3, 2)])
def test_user_buckets_equal_whole_on_tiny_lake(spark: Any, tiny_lake: Any, chunk_days: int, buckets: int) -> None:
    """The people in pieces by a hash of their id (followers come from anybody's follows; the grid still ends on the
    lake's last day for a piece whose people were quiet then)."""
    cfg, lake = tiny_lake
    fc = cfg.features.model_copy(update={"windows_days": [1, 3]})
    assert_chunks_equal_whole(spark, fc, lake, USER_FEATURES.name, chunk_days, buckets)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(KEYS))
def test_chunks_equal_whole_on_default_lake(spark: Any, default_lake: Any, name: str) -> None:
    """The issue's check: the default world (5,000 people, 28 days) in the job's default chunks of 7 days."""
    cfg, lake = default_lake
    assert cfg.features.chunk_days == 7
    rows = assert_chunks_equal_whole(spark, cfg.features, lake, name, cfg.features.chunk_days)
    assert rows > 10_000


def test_job_in_chunks_writes_what_it_writes_in_one_piece(
    spark: Any, tiny_lake: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The whole features job (snapshots, then training examples over them) in 1-day chunks and the people in 3
    pieces, and all in one piece."""
    from tests.conftest import copy_lake, make_config

    from socialflywheel.features import job
    from socialflywheel.lake.io import Lake

    tables = {**KEYS, TRAINING_EXAMPLES.name: ["event_id"]}
    out: dict[int, dict[str, list[dict[str, Any]]]] = {}
    planted = _plant_midnight_engagement(tiny_lake[0], tmp_path_factory.mktemp("planted") / "work")
    patch = pytest.MonkeyPatch()
    patch.setattr(job, "part_a_steps", tuple)  # part A reads the lake whole; the chunked tables are part B's
    try:
        for chunk in (0, 1):
            copied, _ = copy_lake(planted, tmp_path_factory.mktemp(f"chunk{chunk}") / "work")
            cfg = make_config(
                copied.work_path,
                "simulate.profile=tiny",
                f"features.chunk_days={chunk}",
                f"features.users_per_bucket={100 if chunk else 0}",  # 300 people: 3 pieces
            )
            lake = Lake.from_config(cfg)
            for name in (*tables, "gold.features_watermark"):  # what a shared lake may hold already
                shutil.rmtree(lake.path(name), ignore_errors=True)
            result = job.run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
            assert result.mode == "full"
            out[chunk] = {name: _rows([lake.read_arrow(name)], keys) for name, keys in tables.items()}
            assert all(result.tables[name] == len(out[chunk][name]) > 0 for name in tables)
    finally:
        patch.undo()
    label = {r["event_id"]: r["label"] for r in out[1][TRAINING_EXAMPLES.name]}
    assert label["planted-view"] == 1  # labelled by the like just after midnight, read from the next chunk
    for name in tables:
        assert len(out[1][name]) == len(out[0][name])
        for got, want in zip(out[1][name], out[0][name], strict=True):
            bad = [c for c in want if not _same(got[c], want[c])]
            assert not bad, f"{name}: chunked {[(c, got[c]) for c in bad]} != whole {[(c, want[c]) for c in bad]}"


def _plant_midnight_engagement(src: Any, dst: Any) -> Any:
    """A copy of the lake with one view at 23:50 and its like at 00:10 the next day (the label crosses a chunk)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    from tests.conftest import copy_lake

    cfg, lake = copy_lake(src, dst)
    events = lake.read_arrow("silver.events")
    views = events.filter(pc.equal(events["event_type"], "view"))
    dates = sorted(set(events.column("event_date").to_pylist()))
    day = dates[len(dates) // 2]
    view = views.slice(0, 1).to_pylist()[0]
    at = dt.datetime.combine(day, dt.time(23, 50), tzinfo=dt.UTC)
    rows = [
        view | {"event_id": "planted-view", "ts": at, "event_date": day, "dwell_ms": 0},
        view
        | {
            "event_id": "planted-like",
            "event_type": "like",
            "ts": at + dt.timedelta(minutes=20),
            "event_date": day + dt.timedelta(days=1),
            "dwell_ms": None,
        },
    ]
    lake.write_arrow(pa.Table.from_pylist(rows, schema=events.schema), "silver.events")
    return cfg


@given(
    first=st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)),
    days=st.integers(0, 400),
    rebuilt=st.one_of(st.none(), st.integers(0, 400)),
    chunk=st.integers(0, 60),
)
def test_spans_cover_each_day_once(first: dt.date, days: int, rebuilt: int | None, chunk: int) -> None:
    last = first + dt.timedelta(days=days)
    since = None if rebuilt is None else first + dt.timedelta(days=min(rebuilt, days))
    plan = Plan("full" if since is None else "incremental", last, since.isoformat() if since else None)
    spans = snapshot_spans(plan, first, chunk_days=chunk)
    start = since or first
    covered: list[dt.date] = []
    for s, u in spans:
        lo = dt.date.fromisoformat(s) if s else first
        hi = dt.date.fromisoformat(u) if u else last
        assert lo <= hi and (chunk == 0 or (hi - lo).days < chunk)
        covered += [lo + dt.timedelta(days=i) for i in range((hi - lo).days + 1)]
    assert covered == [start + dt.timedelta(days=i) for i in range((last - start).days + 1)]
    assert (spans[0][0] is None) == (since is None)  # only a full build replaces the table whole
    assert spans[-1][1] is None  # the last chunk runs to the last event date

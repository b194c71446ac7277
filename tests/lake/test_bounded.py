"""A lake bounded to a logical date (``Lake.bounded``): every read stops at the day, on both readers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from socialflywheel.ingest.landing import landing_day
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake


@pytest.mark.parametrize(
    ("rel", "day"),
    [
        ("events/date=2026-10-03/part-00000.jsonl", dt.date(2026, 10, 3)),
        ("events_parquet/dt=2026-10-03/x.parquet", dt.date(2026, 10, 3)),
        ("a/ds=2026-01-31/b/c.jsonl", dt.date(2026, 1, 31)),
        ("date=2026-10-03/x.jsonl", dt.date(2026, 10, 3)),
        ("events/x.jsonl", None),  # undated: any run takes it
        ("events/date=2026-13-45/x.jsonl", None),  # not a day
        ("events/update=2026-10-03/x.jsonl", None),  # not a partition key of days
        ("events/date=2026-10-03x/x.jsonl", None),
    ],
)
def test_landing_day_of_a_path(rel: str, day: dt.date | None) -> None:
    assert landing_day(rel) == day


def test_every_period_column_is_a_date_or_timestamp_of_its_table() -> None:
    import pyarrow as pa

    bounded = [t for t in CATALOG.values() if t.period_column]
    names = {t.name for t in bounded}
    assert names >= {"silver.events", "silver.posts", "gold.user_features", "gold.training_examples"}
    for t in bounded:
        dtype = t.schema.field(str(t.period_column)).type
        assert pa.types.is_date(dtype) or pa.types.is_timestamp(dtype), t.name


def test_both_readers_stop_at_the_day(tiny_lake: Any, spark: Any) -> None:
    from pyspark.sql import functions as F

    cfg, lake = tiny_lake
    dates = sorted(set(lake.read_arrow("silver.events", columns=["event_date"]).column("event_date").to_pylist()))
    day = dates[len(dates) // 2]
    bounded = Lake.from_config(cfg).bounded(day)
    assert Lake.from_config(cfg).bounded(None).until is None

    events = bounded.read_arrow("silver.events", columns=["event_date", "event_type"])
    assert max(events.column("event_date").to_pylist()) == day
    views = bounded.read_arrow("silver.events", columns=["event_date"], filters=[("event_type", "=", "view")])
    assert 0 < views.num_rows < events.num_rows  # the caller's filter and the bound together
    assert bounded.read(spark, "silver.events").count() == events.num_rows
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    posts = bounded.read_arrow("silver.posts", columns=["created_at"]).column("created_at").to_pylist()
    assert posts and max(posts) < midnight
    assert bounded.read(spark, "silver.posts").where(F.col("created_at") >= F.lit(midnight)).count() == 0
    everything = lake.read_arrow("silver.posts", columns=["created_at"]).num_rows
    assert len(posts) < everything

    # State tables are rebuilt from the day's events, not today's state filtered.
    from socialflywheel.lake.derived import derive_users

    users = bounded.read(spark, "silver.users")
    expected = derive_users(bounded.read(spark, "silver.events"))
    assert users.count() == expected.count() < lake.read(spark, "silver.users").count() + 1
    assert users.agg(F.max("last_seen")).collect()[0][0] < midnight.replace(tzinfo=None)  # the session is in UTC

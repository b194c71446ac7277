"""Conform transforms give the same silver tables on classic Spark and on Sail."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.compat.conftest import read_parquet_dir, sorted_table

pytestmark = pytest.mark.compat

EVENTS = "socialflywheel.ingest.conform"


def synthetic_events(n: int = 400, seed: int = 3) -> pa.Table:
    rng = random.Random(seed)
    t0 = dt.datetime(2026, 10, 1)
    rows = []
    for i in range(n):
        kind = rng.choice(["post", "view", "like", "follow", "unfollow"])
        ts = t0 + dt.timedelta(minutes=rng.randrange(0, 5000))
        rows.append(
            {
                "event_id": f"e{i}",
                "event_type": kind,
                "user_id": f"u{rng.randrange(20)}",
                "post_id": f"p{rng.randrange(30)}" if kind in ("post", "view", "like") else None,
                "target_user_id": f"u{rng.randrange(20)}" if kind in ("follow", "unfollow") else None,
                "ts": ts,
                "dwell_ms": rng.randrange(10000),
                "text": "t" if kind == "post" else None,
                "hashtags": ["h1"] if kind == "post" else None,
                "country": rng.choice(["DE", "US"]),
                "device": rng.choice(["ios", "web"]),
                "campaign_id": None,
                "extras": [("category", rng.choice(["a", "b"]))] if kind == "post" else [],
                "event_date": ts.date(),
            }
        )
    schema = pa.schema(
        [
            ("event_id", pa.string()),
            ("event_type", pa.string()),
            ("user_id", pa.string()),
            ("post_id", pa.string()),
            ("target_user_id", pa.string()),
            ("ts", pa.timestamp("us", tz="UTC")),
            ("dwell_ms", pa.int64()),
            ("text", pa.string()),
            ("hashtags", pa.list_(pa.string())),
            ("country", pa.string()),
            ("device", pa.string()),
            ("campaign_id", pa.string()),
            ("extras", pa.map_(pa.string(), pa.string())),
            ("event_date", pa.date32()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


FNS = ["derive_users", "derive_follows", "derive_posts"]


@pytest.fixture(scope="module")
def classic_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One classic Spark process runs every transform (a JVM start costs ~5 s)."""
    from tests.compat.conftest import run_classic

    tmp = tmp_path_factory.mktemp("compat-conform")
    pq.write_table(synthetic_events(), tmp / "events.parquet")
    run_classic(
        [
            {"fn": f"{EVENTS}:{fn}", "inputs": {"events": str(tmp / "events.parquet")}, "out": str(tmp / fn)}
            for fn in FNS
        ],
        tmp,
    )
    return tmp


@pytest.mark.parametrize("fn", FNS)
def test_conform_transform_matches(fn: str, spark: Any, tmp_path: Path, classic_out: Path) -> None:
    from socialflywheel.ingest import conform

    getattr(conform, fn)(spark.read.parquet(str(classic_out / "events.parquet"))).write.mode("overwrite").parquet(
        str(tmp_path / "sail")
    )
    got_classic = sorted_table(read_parquet_dir(classic_out / fn))
    got_sail = sorted_table(read_parquet_dir(tmp_path / "sail")).select(got_classic.column_names)
    assert got_classic.num_rows > 0
    assert got_sail.cast(got_classic.schema).equals(got_classic)

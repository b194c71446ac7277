"""Every Spark write is cast to the catalog's types, whatever the DataFrame inferred (#16 item 9).

Found: ``features`` failed on a small valid lake (30 views and 1 post with no category): the empty category
vocabulary made ``category_affinity`` an ``array<void>``, which Delta refuses. The class: a column whose type
Spark inferred from an edge case (no value, an empty array) reaching the writer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.features.job import run_features
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake


@pytest.mark.parametrize("name", sorted(n for n in CATALOG if not n.startswith("truth.")))
def test_a_row_of_untyped_nulls_is_written_with_the_catalog_types(name: str, spark: Any, lake: Lake) -> None:
    """Mutation tried: ``_conform`` selecting the columns without the cast fails every table here."""
    from pyspark.sql import functions as F

    table = CATALOG[name]
    df = spark.range(1).select(*[F.lit(None).alias(c) for c in table.column_names])  # every column NullType
    lake.overwrite(df, name)
    read = lake.read_arrow(name).schema  # partition columns come last from delta-rs: compare by name
    assert {f.name: f.type for f in read} == {f.name: f.type for f in table.schema}


def test_features_on_a_lake_of_one_post_without_a_category(spark: Any, work: FlywheelConfig, lake: Lake) -> None:
    lines = [
        {"event_id": "p1", "event_type": "post", "user_id": "a", "post_id": "x1", "ts": "2026-10-01T09:00:00Z"},
        *(
            {
                "event_id": f"v{i}",
                "event_type": "view",
                "user_id": f"u{i % 7}",
                "post_id": "x1",
                "ts": f"2026-10-0{1 + i % 3}T10:{i:02d}:00Z",
                "dwell_ms": 500 + i,
            }
            for i in range(30)
        ),
    ]
    folder = work.landing_dir / "events"
    folder.mkdir(parents=True)
    (folder / "a.jsonl").write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    run_conform(spark, lake, work.privacy)
    out = run_features(spark, lake, work.features, k=work.privacy.min_group_users, seed=work.seed)
    # #18: a post without a category counts as "unknown" (it was an empty vocabulary before)
    assert out.mode == "full" and out.categories == ["unknown"]
    users = lake.read_arrow("gold.user_features", columns=["category_affinity"]).column(0).to_pylist()
    assert users and all(v == [0.0] for v in users)  # one 'unknown' slot; views alone are no engagement

"""The catalog's explicit pyarrow schemas and what is derived from them (Spark DDL, delta-rs write schema)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from socialflywheel.lake.catalog import CATALOG, spark_type, table
from socialflywheel.lake.io import Lake


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_spark_ddl_is_the_arrow_schema(spark: Any, name: str) -> None:
    """Spark parses each derived DDL into the same columns and, converted back by pyspark, the same Arrow types.

    Mutation tried: mapping int32 to "bigint" in spark_type; the tables with int columns failed here."""
    from pyspark.sql.pandas.types import to_arrow_schema

    t = table(name)
    struct = spark.createDataFrame([], t.ddl).schema
    assert struct.fieldNames() == t.column_names
    back = to_arrow_schema(struct, timestamp_utc=True)
    # pyspark names list items "element"; compare types structurally
    assert [str(f.type).replace("element: ", "item: ") for f in back] == [
        str(f.type).replace("element: ", "item: ") for f in t.schema
    ]


def test_an_undeclared_type_is_refused_with_a_line_that_says_where() -> None:
    with pytest.raises(TypeError, match=r"float.*lake/catalog/table\.py"):
        spark_type(pa.float32())


def test_delta_rs_writes_take_the_catalog_types(tmp_path: Path) -> None:
    """A run-record-like write with naive timestamps and int32 counts lands with the catalog's types (UTC instants,
    bigint), and data that cannot fit the schema is refused with the table's name."""
    lake = Lake(str(tmp_path / "lake"))
    naive = dt.datetime(2026, 11, 30, 12, 0)
    lake.write_arrow(
        pa.table(
            {
                "batch_id": ["b1"],
                "conformed_at": pa.array([naive], pa.timestamp("us")),
                "rows": pa.array([5], pa.int32()),
            }
        ),
        "silver.conformed_batches",
    )
    got = lake.read_arrow("silver.conformed_batches")
    assert got.schema.field("rows").type == pa.int64()
    assert got.schema.field("conformed_at").type == pa.timestamp("us", tz="UTC")
    assert got.column("conformed_at")[0].as_py() == naive.replace(tzinfo=dt.UTC)
    bad: dict[str, Any] = {"batch_id": ["b2"], "conformed_at": [naive], "rows": ["five"]}
    with pytest.raises(ValueError, match=r"silver\.conformed_batches: data does not fit the catalog schema"):
        lake.write_arrow(pa.table(bad), "silver.conformed_batches")

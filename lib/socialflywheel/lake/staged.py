"""Driver-side Arrow tables as Spark DataFrames, at any size.

``spark.createDataFrame(arrow_table)`` inlines the table into the Spark Connect plan, and a plan over 128 MiB is
refused ("Sent message larger than max"): 2.5M recommendation rows (50k people x 50) were 198 MB. A table past
:data:`INLINE_LIMIT_BYTES` is written as Parquet under ``<lake>/_staging`` (where every engine and cluster
executor reads, and where ``maintain`` and ``erase`` clear leftovers of a killed run) and read from there.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from socialflywheel.lake.storage import locate, remove_tree

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession

    from socialflywheel.lake.io import Lake

# Half of Spark Connect's 128 MiB message limit: the plan carries the table's Arrow IPC bytes and more.
INLINE_LIMIT_BYTES = 64 << 20
# Rows per staged Parquet file (an engine reads the files in parallel).
STAGED_FILE_ROWS = 1 << 20


@contextmanager
def arrow_frame(
    spark: SparkSession, lake: Lake, data: pa.Table, *, inline_limit: int | None = None
) -> Iterator[DataFrame]:
    """``data`` as a DataFrame for the ``with`` block: inlined when small, else staged (and removed on exit).

    Args:
        spark: The session.
        lake: The lake whose ``_staging`` folder holds a large table while the block runs.
        data: The table (non-empty schemas only: an empty table is inlined).
        inline_limit: Largest table, in Arrow bytes, sent inside the plan (default :data:`INLINE_LIMIT_BYTES`).
    """
    if data.nbytes <= (INLINE_LIMIT_BYTES if inline_limit is None else inline_limit):
        yield spark.createDataFrame(data)
        return
    import pyarrow.dataset as ds

    staged = f"{lake.root}/_staging/arrow-{uuid.uuid4().hex[:12]}"
    loc = locate(staged)
    try:
        ds.write_dataset(
            data,
            loc.path,
            format="parquet",
            filesystem=loc.fs,
            max_rows_per_file=STAGED_FILE_ROWS,
            max_rows_per_group=min(STAGED_FILE_ROWS, 128 * 1024),
        )
        yield spark.read.parquet(staged)
    finally:
        remove_tree(staged)

"""Re-delivered events: an event id already in bronze.events that comes again with other content is rejected.

An identical re-delivery is "present" (idempotent ingest); a changed one goes to quarantine as ``duplicate``, the
same reason as two versions of one event id inside a batch, so a later batch cannot silently drop a correction.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialflywheel.lake.catalog.table import EVENT_FIELDS

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame


def contract_hash() -> Column:
    """A digest of an event's contract columns (``EVENT_FIELDS``), the same for a batch row and a bronze row."""
    from pyspark.sql import functions as F

    return F.sha2(F.to_json(F.struct(*[F.col(f.name) for f in EVENT_FIELDS])), 256)


def changed_redeliveries(present: DataFrame, bronze: DataFrame) -> DataFrame:
    """The rows of ``present`` (event ids already in bronze.events) whose contract columns differ from the stored row.

    Only the batch's ``event_date`` partitions of bronze are read: a row whose event id is stored in another
    partition has another ``ts``, so it is changed too (no stored row of the same id and hash is found).
    """
    from pyspark.sql import functions as F

    dates = [r["event_date"] for r in present.select("event_date").distinct().collect()]
    stored = bronze.where(F.col("event_date").isin(dates)).select("event_id", contract_hash().alias("_contract"))
    mine = present.select("event_id", contract_hash().alias("_contract"))
    same = mine.join(stored, ["event_id", "_contract"], "left_semi")
    return present.join(same.select("event_id"), "event_id", "left_anti")

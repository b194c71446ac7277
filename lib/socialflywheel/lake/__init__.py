"""The Delta lake: table catalog, reads and writes, maintenance through delta-rs."""

from socialflywheel.lake.catalog import CATALOG, EVENT_TYPES, Table, table
from socialflywheel.lake.io import Lake

__all__ = ["CATALOG", "EVENT_TYPES", "Lake", "Table", "table"]

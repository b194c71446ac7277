"""What a catalog entry is: a named Delta table with its layer, schema, partitioning, keys and people columns."""

from __future__ import annotations

from dataclasses import dataclass, field

EVENT_TYPES = (
    "post",
    "view",
    "like",
    "share",
    "comment",
    "follow",
    "unfollow",
    "click",
    "search",
    "ad_impression",
    "ad_click",
)

# Events that engage with a post (a view does not): counted by features, campaigns and serving priors alike.
ENGAGEMENT_TYPES = ("like", "share", "comment", "click")

# The event contract (ARCHITECTURE.md). Order matters: landing parsers emit it in this order.
EVENT_COLUMNS = (
    "event_id string, event_type string, user_id string, post_id string, target_user_id string, "
    "ts timestamp, dwell_ms bigint, text string, hashtags array<string>, country string, device string, "
    "campaign_id string"
)
EVENT_SCHEMA = EVENT_COLUMNS + ", event_date date"


@dataclass(frozen=True)
class Table:
    """A named Delta table of the lake."""

    name: str
    schema: str
    partition_by: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()
    doc: str = ""
    pii_columns: tuple[str, ...] = field(default=())
    """Columns that hold a person's identifier (raw in bronze, pseudonymized elsewhere); erasure uses them."""

    @property
    def layer(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def short(self) -> str:
        return self.name.split(".", 1)[1]

    @property
    def column_types(self) -> dict[str, str]:
        """Column name -> Spark DDL type, in schema order."""
        cols: dict[str, str] = {}
        depth = 0
        token = ""
        for ch in self.schema + ",":
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            if ch == "," and depth == 0:
                name, _, dtype = token.strip().partition(" ")
                cols[name] = dtype.strip()
                token = ""
            else:
                token += ch
        return cols

    @property
    def column_names(self) -> list[str]:
        return list(self.column_types)

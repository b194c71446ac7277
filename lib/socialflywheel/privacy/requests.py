"""Erasure requests by reference: a request is stored pseudonymized on arrival and carried out by its id.

``flywheel erase-request`` takes the raw ids once (arguments or a file), turns them into pseudonyms with the
lake's key and stores them in audit.erasure_requests under a random request id; it prints only that id. A
scheduler (the ``flywheel_erase`` DAG) then runs ``flywheel erase --request <id>``: no raw id ever reaches its
metadata database, XCom, rendered templates or task logs. When the erasure is carried out the request's
pseudonyms are emptied (status ``done``, with the erasure's id), so the request keeps nothing of the people.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from socialflywheel.lake.catalog.stages import ERASURE_REQUESTS
from socialflywheel.privacy.pseudonymize import pseudonym

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.lake.io import Lake

PENDING, DONE = "pending", "done"
REQUEST_ID = re.compile(r"^er-[0-9a-f]{32}$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def file_request(lake: Lake, user_ids: Sequence[str], *, key: bytes) -> str:
    """Store an erasure request for people named by raw ids (exactly as given); return its id.

    Raises:
        ValueError: no id was given.
    """
    import pyarrow as pa

    pseudo = sorted({pseudonym(u, key) for u in user_ids if u})
    if not pseudo:
        raise ValueError("erase-request needs at least one --user id (or a --users-file with one id per line)")
    request_id = f"er-{uuid.uuid4().hex}"
    lake.write_arrow(
        pa.table(
            {
                "request_id": [request_id],
                "received_at": pa.array([_now()], pa.timestamp("us")),
                "people": pa.array([len(pseudo)], pa.int64()),
                "pseudonyms": pa.array([pseudo], pa.list_(pa.string())),
                "status": [PENDING],
                "erasure_id": pa.array([None], pa.string()),
                "completed_at": pa.array([None], pa.timestamp("us")),
            }
        ),
        ERASURE_REQUESTS.name,
    )
    return request_id


@dataclass(frozen=True)
class Request:
    """A stored request: its people (empty once carried out) and, when done, the erasure that carried it out."""

    request_id: str
    people: int
    pseudonyms: list[str]
    erasure_id: str | None
    completed_at: dt.datetime | None

    @property
    def done(self) -> bool:
        """Whether the request was carried out."""
        return self.erasure_id is not None


def find_request(lake: Lake, request_id: str) -> Request:
    """The stored request of this id.

    Raises:
        ValueError: the id is malformed or unknown (one line naming it).
    """
    if not REQUEST_ID.match(request_id):
        raise ValueError(f"erase: {request_id!r} is not a request id (er-<32 hex>, printed by flywheel erase-request)")
    rows = [r for r in _rows(lake) if r["request_id"] == request_id]
    if not rows:
        raise ValueError(f"erase: no erasure request {request_id} in {ERASURE_REQUESTS.name}; see erase-request")
    row = rows[0]
    return Request(
        request_id=request_id,
        people=int(row["people"]),
        pseudonyms=[str(p) for p in row["pseudonyms"] or []],
        erasure_id=row["erasure_id"] if row["status"] == DONE else None,
        completed_at=row["completed_at"],
    )


def close_request(lake: Lake, request_id: str, *, erasure_id: str) -> None:
    """Mark a request done and empty its pseudonyms (older table versions go with the maintain pass that follows)."""
    import pyarrow as pa

    rows = _rows(lake)
    for row in rows:
        if row["request_id"] == request_id:
            row.update(pseudonyms=[], status=DONE, erasure_id=erasure_id, completed_at=_now())
    lake.write_arrow(
        pa.Table.from_pylist(rows, schema=ERASURE_REQUESTS.schema), ERASURE_REQUESTS.name, mode="overwrite"
    )


def _rows(lake: Lake) -> list[dict[str, Any]]:  # rows of audit.erasure_requests
    if not lake.exists(ERASURE_REQUESTS.name):
        return []
    rows: list[dict[str, Any]] = lake.read_arrow(ERASURE_REQUESTS.name).to_pylist()
    return rows


def raw_ids_of(spark: SparkSession, lake: Lake, pseudo: Sequence[str], *, key: bytes) -> list[str]:
    """The raw ids bronze.events and bronze.quarantine spell for the people with these pseudonyms.

    Bronze's actor and target ids are pseudonymized with the key and matched; quarantined lines by the strings
    they name (decoded JSON, else the string literals in their bytes). Found here, the raw ids never leave the
    process: they feed the same deletes as an erasure by raw id.
    """
    from pyspark.sql import functions as F

    from socialflywheel.privacy._udfs import strings_of_udf
    from socialflywheel.privacy.pseudonymize import pseudonymize_udf

    found: set[str] = set()
    if lake.exists("bronze.events"):
        ids = lake.read(spark, "bronze.events").select(F.explode(F.array("user_id", "target_user_id")).alias("id"))
        ids = ids.where(F.col("id").isNotNull()).distinct()
        matched = ids.where(pseudonymize_udf(key)(F.col("id")).isin(list(pseudo)))
        found.update(r["id"] for r in matched.collect())
    if lake.exists("bronze.quarantine"):
        named = lake.read(spark, "bronze.quarantine").select(F.explode(strings_of_udf(pseudo, key)("raw")).alias("id"))
        found.update(r["id"] for r in named.distinct().collect())
    return sorted(found)

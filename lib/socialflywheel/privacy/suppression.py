"""The suppression list: erased people stay erased when their data is delivered again.

``erase`` puts a *suppression token* of each person on audit.erasure_suppressions: a keyed hash of their
pseudonym under a separate domain (``HMAC(key, "suppression" || pseudonym)``), so the list holds neither the
raw id nor the pseudonym that silver and gold used: after erase and maintain no byte of either is left, and the
token joins with nothing. Ingest recognizes a re-delivered line naming a suppressed person (as actor or target)
by hashing its raw ids the same way, and keeps it out of bronze: the line becomes a quarantine row of reason
``erased_person`` with its file and line number but not one byte of its content, so the batch still reconciles.
Conform drops suppressed people again on the way to silver (from the pseudonyms).
"""

# No `from __future__ import annotations`: pandas_udf reads the type hints at definition time.
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from socialflywheel.lake.catalog.stages import ERASURE_SUPPRESSIONS
from socialflywheel.privacy.pseudonymize import pseudonym

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from socialflywheel.lake.io import Lake

log = logging.getLogger(__name__)

REASON = "erased_person"
DETAIL = "names a person erased on request (audit.erasure_suppressions); the line's content is not kept"
PERSON_COLUMNS = ("user_id", "target_user_id")
_DOMAIN = b"suppression\x00"


def token(pseudo: str, key: bytes) -> str:
    """The suppression token of a pseudonym: joins with no other table, irreversible without the key."""
    return "s" + hmac.new(key, _DOMAIN + pseudo.encode("utf-8"), hashlib.sha256).hexdigest()[:31]


def tokens(lake: "Lake") -> frozenset[str]:
    """The tokens on the suppression list (empty when nobody was ever erased)."""
    if not lake.exists(ERASURE_SUPPRESSIONS.name):
        return frozenset()
    return frozenset(lake.read_arrow(ERASURE_SUPPRESSIONS.name, columns=["token"]).column("token").to_pylist())


def add(lake: "Lake", pseudonyms: Iterable[str], *, key: bytes, erasure_id: str) -> int:
    """Put people (by pseudonym) on the suppression list, each once; returns how many were new."""
    import pyarrow as pa

    new = sorted({token(p, key) for p in pseudonyms} - tokens(lake))
    if new:
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        lake.write_arrow(
            pa.table(
                {
                    "token": new,
                    "erasure_id": [erasure_id] * len(new),
                    "added_at": pa.array([now] * len(new), pa.timestamp("us")),
                }
            ),
            ERASURE_SUPPRESSIONS.name,
        )
    return len(new)


def _suppressed_udf(key: bytes, listed: frozenset[str], *, raw: bool) -> "Callable[[Column | str], Column]":
    """A UDF: does this id (raw, or a pseudonym) belong to a suppressed person? Nulls are not."""
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    def _hit(ids: pd.Series) -> pd.Series:
        return pd.Series(
            [isinstance(i, str) and token(pseudonym(i, key) if raw else i, key) in listed for i in ids], dtype=bool
        )

    udf: Callable[[Column | str], Column] = pandas_udf(_hit, "boolean")  # type: ignore[call-overload]
    return udf


def raw_line_names_suppressed(key: bytes, listed: frozenset[str]) -> "Callable[[Column | str], Column]":
    """A UDF over raw landing lines (binary) that failed validation: do they name a suppressed person?

    The decoded line's ``user_id`` and ``target_user_id`` are checked: a rejected line's parsed columns may be empty.
    """
    import json

    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    def _names(line: object) -> bool:
        if not isinstance(line, bytes | bytearray):
            return False
        try:
            record = json.loads(bytes(line))
        except (ValueError, RecursionError):
            return False
        if not isinstance(record, dict):
            return False
        people = [record.get(c) for c in PERSON_COLUMNS]
        return any(isinstance(p, str) and token(pseudonym(p, key), key) in listed for p in people)

    def _hit(raws: pd.Series) -> pd.Series:
        return pd.Series([_names(b) for b in raws], dtype=bool)

    udf: Callable[[Column | str], Column] = pandas_udf(_hit, "boolean")  # type: ignore[call-overload]
    return udf


def names_suppressed(key: bytes, listed: frozenset[str], *, raw: bool) -> "Column":
    """True for rows whose ``user_id`` or ``target_user_id`` (raw ids, or pseudonyms) is a suppressed person."""
    from pyspark.sql import functions as F

    hit = _suppressed_udf(key, listed, raw=raw)
    return hit(F.col(PERSON_COLUMNS[0])) | hit(F.col(PERSON_COLUMNS[1]))


def without_suppressed(df: "DataFrame", key: bytes, listed: frozenset[str]) -> "DataFrame":
    """Rows of a pseudonymized frame naming no suppressed person (nothing to do when the list is empty)."""
    return df if not listed else df.filter(~names_suppressed(key, listed, raw=False))


@dataclass(frozen=True)
class Erased:
    """The people on the suppression list (their tokens) and the key that derives a raw id's token."""

    key: bytes = field(repr=False)
    tokens: frozenset[str] = field(repr=False)


def mark_erased(parsed: "DataFrame", erased: Erased) -> "DataFrame":
    """Parsed landing lines naming an erased person become rows of status ``erased_person`` with no raw content.

    Valid lines are checked on their parsed ids; rejected lines (whose parsed columns may be empty) on the ids of
    their decoded raw line.
    """
    from pyspark.sql import functions as F

    hit = F.col("_erased")
    valid = parsed.filter(F.col("status").isNull()).withColumn(
        "_erased", names_suppressed(erased.key, erased.tokens, raw=True)
    )
    rejected = parsed.filter(F.col("status").isNotNull())
    rejected = rejected.withColumn("_erased", raw_line_names_suppressed(erased.key, erased.tokens)(F.col("raw")))
    replaced = {
        "status": F.when(hit, F.lit(REASON)).otherwise(F.col("status")),
        "detail": F.when(hit, F.lit(DETAIL)).otherwise(F.col("detail")),
        "raw": F.when(hit, F.lit("").cast("binary")).otherwise(F.col("raw")),
    }
    marked = valid.unionByName(rejected)
    return marked.select(*[replaced[c].alias(c) if c in replaced else F.col(c) for c in parsed.columns])

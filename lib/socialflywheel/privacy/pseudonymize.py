"""Keyed pseudonyms for people: HMAC-SHA256 of the raw id, stable for one key, irreversible without it."""

# No `from __future__ import annotations`: pandas_udf reads the type hints at definition time.
import hashlib
import hmac
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import Column

PREFIX = "p"
HEX_CHARS = 31  # 124 bits: collisions are out of reach at any platform's scale


def pseudonym(raw: str, key: bytes) -> str:
    """The pseudonym of one raw identifier."""
    return PREFIX + hmac.digest(key, raw.encode("utf-8"), hashlib.sha256).hex()[:HEX_CHARS]


def pseudonyms(raws: Iterable[object], key: bytes) -> list[str | None]:
    """Pseudonyms of many ids; anything that is not a string (None, NaN) stays missing."""
    return [pseudonym(r, key) if isinstance(r, str) else None for r in raws]


def pseudonym_series(ids: "pd.Series", key: bytes) -> "pd.Series":
    """:func:`pseudonyms` of a column, each distinct id hashed once (a batch of events names each person many times).

    Equal to ``pseudonyms(ids.tolist(), key)`` value for value; about 10x faster on event columns.
    """
    import numpy as np
    import pandas as pd

    codes, uniques = pd.factorize(ids, use_na_sentinel=True)  # missing values: code -1, the None appended below
    mapped = np.array([*pseudonyms(uniques.tolist(), key), None], dtype=object)
    return pd.Series(mapped[codes], index=ids.index, dtype="object")


def pseudonymize_udf(key: bytes) -> "Callable[[Column | str], Column]":
    """A vectorized UDF that maps a column of raw ids to pseudonyms (nulls stay null).

    The key travels inside the UDF's closure to the workers; it is never part of SQL text or logs.
    """
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    def _pseudo(ids: pd.Series) -> pd.Series:
        return pseudonym_series(ids, key)

    # The stubs list only the functionType forms; the type hints above make it a Series-to-Series UDF.
    udf: Callable[[Column | str], Column] = pandas_udf(_pseudo, "string")  # type: ignore[call-overload]
    return udf

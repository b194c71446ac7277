"""Vectorized UDFs of the privacy stage.

No `from __future__ import annotations` here: pandas_udf reads the type hints at definition time.
"""

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import Column


def contains_any_udf(needles: Sequence[bytes]) -> "Callable[[Column | str], Column]":
    """A UDF telling whether a binary column contains any of the byte strings (works on invalid UTF-8)."""
    import pandas as pd
    from pyspark.sql.pandas.functions import pandas_udf

    wanted = [bytes(n) for n in needles]

    def _contains(raw: pd.Series) -> pd.Series:
        return pd.Series([isinstance(b, bytes | bytearray) and any(n in b for n in wanted) for b in raw], dtype=bool)

    # The stubs list only the functionType forms; the type hints above make it a Series-to-Series UDF.
    udf: Callable[[Column | str], Column] = pandas_udf(_contains, "boolean")  # type: ignore[call-overload]
    return udf

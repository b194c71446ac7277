"""Vectorized UDFs of the privacy stage.

No `from __future__ import annotations` here: pandas_udf reads the type hints at definition time.
"""

from collections.abc import Callable, Sequence
from typing import Any


def contains_any_udf(needles: Sequence[bytes]) -> Callable[..., Any]:
    """A UDF telling whether a binary column contains any of the byte strings (works on invalid UTF-8)."""
    import pandas as pd
    from pyspark.sql.functions import pandas_udf

    wanted = [bytes(n) for n in needles]

    @pandas_udf("boolean")  # type: ignore[call-overload]
    def _contains(raw: pd.Series) -> pd.Series:
        return pd.Series([isinstance(b, bytes | bytearray) and any(n in b for n in wanted) for b in raw], dtype=bool)

    return _contains

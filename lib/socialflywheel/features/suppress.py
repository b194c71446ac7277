"""k-anonymity for aggregates that leave the lake: groups with fewer than k distinct people are dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def suppress_small_groups(df: DataFrame, *, user_count_col: str, k: int) -> DataFrame:
    """Drop every aggregate row computed over fewer than ``k`` distinct users.

    A row is kept when ``user_count_col >= k``; rows with a null count are dropped too (an
    unknown audience size cannot be shown to be large enough).

    Args:
        df: aggregate rows, one per group.
        user_count_col: column holding the exact number of distinct users behind the row.
        k: the smallest publishable group (``cfg.privacy.min_group_users``).

    Returns:
        The rows whose group has at least ``k`` distinct users.
    """
    from pyspark.sql import functions as F

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return df.filter(F.col(user_count_col).isNotNull() & (F.col(user_count_col) >= F.lit(k)))

"""gold.recommendations: ranked lists become rows, stamped with the model version, and replace its slice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.faults import kill_point
from socialflywheel.recsys.tables import RECOMMENDATIONS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from socialflywheel.lake.io import Lake

Source = Literal["model", "fallback"]


def recommendation_rows(
    user_ids: pa.Array, top: np.ndarray, scores: np.ndarray, post_ids: pa.Array, *, source: Source
) -> pa.Table:
    """One row per listed item: ``user_id, post_id, rank, score, source``.

    Args:
        user_ids: The user of each row of ``top``.
        top: ``[users, k]`` item_idx, best first; ``-1`` marks a hole (fewer items than K).
        scores: ``[users, k]`` their scores.
        post_ids: The catalogue, in item_idx order.
        source: ``model`` or ``fallback``.

    Returns:
        The rows; ranks are 1-based and count listed items only, so holes never leave a rank gap.
    """
    k = top.shape[1]
    keep = top >= 0
    ranks = np.cumsum(keep, axis=1)
    users = np.repeat(np.arange(len(user_ids)), k).reshape(top.shape)
    return pa.table(
        {
            "user_id": pc.take(user_ids, pa.array(users[keep])),
            "post_id": pc.take(post_ids, pa.array(top[keep])),
            "rank": pa.array(ranks[keep].astype(np.int32)),
            "score": pa.array(scores[keep].astype(np.float64)),
            "source": pa.array([source] * int(keep.sum()), pa.string()),
        }
    )


def recommendations_table(
    parts: Sequence[pa.Table], *, version: str, generated_at: dt.datetime | None = None
) -> pa.Table:
    """The parts of :func:`recommendation_rows` as one version's gold.recommendations slice.

    Args:
        parts: Row tables (model lists, fallback lists).
        version: The model version every row is stamped with.
        generated_at: Naive UTC stamp (default: now).

    Returns:
        The rows with ``model_version`` and ``generated_at``, in the table's column order.
    """
    recs = pa.concat_tables(parts)
    generated = generated_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    recs = recs.append_column("model_version", pa.array([version] * recs.num_rows, pa.string()))
    recs = recs.append_column("generated_at", pa.array([generated] * recs.num_rows, pa.timestamp("us")))
    return recs.select(RECOMMENDATIONS.column_names)


def write_recommendations(spark: SparkSession, lake: Lake, recs: pa.Table, *, version: str) -> None:
    """Replace the ``version`` slice of gold.recommendations with ``recs`` (other versions stay).

    Args:
        spark: The session that writes the Delta table.
        lake: The lake.
        recs: The slice, from :func:`recommendations_table`.
        version: Its model version (the partition replaced).
    """
    from socialflywheel.lake.staged import arrow_frame

    kill_point("recommend.before_write")
    with arrow_frame(spark, lake, recs.select(RECOMMENDATIONS.column_names)) as frame:
        lake.overwrite(frame, RECOMMENDATIONS.name, replace_where=f"model_version = '{version}'")
    kill_point("recommend.after_write")

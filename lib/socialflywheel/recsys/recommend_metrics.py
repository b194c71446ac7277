"""Exposure summary of one recommend run's rows: catalogue coverage, Gini of exposure, share of fresh posts."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from socialflywheel.recsys._arrow import encode
from socialflywheel.recsys.core.metrics import gini

DAY = 86_400


def exposure_metrics(
    listed: pa.Array | pa.ChunkedArray,
    *,
    post_ids: pa.Array,
    created_ts: np.ndarray,
    now: int,
    fresh_days: float,
) -> dict[str, float]:
    """How the recommended rows spread over the catalogue (every listed row counts once).

    Args:
        listed: ``post_id`` of every recommendation row.
        post_ids: The catalogue, in item_idx order.
        created_ts: Creation time per item_idx (seconds).
        now: Reference time (seconds), the newest event.
        fresh_days: Age below which a post is fresh.

    Returns:
        ``catalogue_coverage`` (share of catalogue posts listed at least once), ``exposure_gini`` (over
        every catalogue post, unlisted ones as zeros) and ``fresh_share`` (share of rows whose post was
        created within ``fresh_days`` of ``now``; 0 without rows).
    """
    n = len(post_ids)
    items = encode(listed, post_ids)
    exposure = np.bincount(items, minlength=n)
    fresh = np.asarray(created_ts)[items] >= now - fresh_days * DAY
    return {
        "catalogue_coverage": float(np.count_nonzero(exposure) / max(n, 1)),
        "exposure_gini": gini(exposure),
        "fresh_share": float(np.mean(fresh)) if len(items) else 0.0,
    }

"""Exposure summary of recommendation rows against hand-computed coverage, Gini and fresh share."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from socialflywheel.recsys.recommend_metrics import DAY, exposure_metrics

NOW = 1_700_000_000


def test_exposure_metrics_known_answer() -> None:
    """Rows p0, p0, p1 over a catalogue of four: exposure ``[2, 1, 0, 0]``, so coverage 1/2 and Gini
    ``2 * (3 * 1 + 4 * 2) / (4 * 3) - 5 / 4 = 7 / 12``; p0 was created two days ago (fresh with
    ``fresh_days=2``), p1 three. Tried: ``>`` for ``>=`` on freshness (p0 turns stale), Gini over listed posts
    only (no ``minlength``), coverage over listed rows instead of the catalogue; each failed here."""
    post_ids = pa.array(["p0", "p1", "p2", "p3"])
    created = np.array([NOW - 2 * DAY, NOW - 3 * DAY, NOW, NOW])
    got = exposure_metrics(
        pa.chunked_array([["p0", "p0"], ["p1"]]), post_ids=post_ids, created_ts=created, now=NOW, fresh_days=2
    )
    assert got == pytest.approx({"catalogue_coverage": 0.5, "exposure_gini": 7 / 12, "fresh_share": 2 / 3})
    empty = exposure_metrics(pa.array([], pa.string()), post_ids=post_ids, created_ts=created, now=NOW, fresh_days=2)
    assert empty == {"catalogue_coverage": 0.0, "exposure_gini": 0.0, "fresh_share": 0.0}

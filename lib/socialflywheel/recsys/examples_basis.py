"""Which positives and negatives a training run used, in words, from the prepared data's row counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME

if TYPE_CHECKING:
    from socialflywheel.recsys.core.data import DatasetMeta


@dataclass(frozen=True)
class ExamplesBasis:
    """What the model was trained to score up (positives) and down (negatives)."""

    positives: str
    negatives: str

    def __str__(self) -> str:
        """The one log line."""
        return f"positives: {self.positives}; negatives: {self.negatives}"


def examples_basis(meta: DatasetMeta, *, random_negatives: int) -> ExamplesBasis:
    """The positives and negatives of a run over prepared data, from its row counts (``meta.extra["rows"]``).

    The two-tower trains on the label-1 rows only; its negatives are the other posts of each batch (and
    ``random_negatives`` uniform samples). A table with no label-0 rows holds no impressions: the features job
    built it from the engagements of a lake without view events.

    Args:
        meta: The prepared data's meta (``rows``: ``train_positives``, and ``negatives``, the label-0 rows).
        random_negatives: ``train.random_negatives``.
    """
    rows = cast("dict[str, int]", meta.extra["rows"])
    kinds = f"{', '.join(ENGAGEMENT_TYPES[:-1])} or {ENGAGEMENT_TYPES[-1]}"
    sampled = "the other posts of each training batch (in-batch)"
    if random_negatives:
        sampled += f" and {random_negatives} posts sampled uniformly per batch"
    train, unengaged = rows["train_positives"], rows["negatives"]
    if unengaged == 0:
        return ExamplesBasis(
            f"{train} engagement events ({kinds}) of posts: {TRAINING_EXAMPLES_NAME} holds no impressions "
            "(no view events in the lake)",
            f"{sampled}; no unengaged impressions exist to draw from",
        )
    return ExamplesBasis(
        f"{train} engaged impressions (a view followed by a {kinds}, or a long dwell)",
        f"{sampled}; the {unengaged} unengaged impressions are not trained on (evaluation counts them as seen)",
    )

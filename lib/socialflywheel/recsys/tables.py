"""The tables the recommender jobs read and write, declared in the catalog when the package is imported.

``gold.training_examples`` (the trainer's input) is declared by the features stage and imported here.
"""

from __future__ import annotations

from socialflywheel.features.training_examples import TRAINING_EXAMPLES
from socialflywheel.lake.catalog import Table, register

TRAINING_EXAMPLES_NAME = TRAINING_EXAMPLES.name
HASHTAG_TRENDS_NAME = "gold.hashtag_trends"

RECOMMENDATIONS = register(
    Table(
        "gold.recommendations",
        "user_id string, post_id string, rank int, score double, source string, model_version string, "
        "generated_at timestamp",
        partition_by=("model_version",),
        keys=("model_version", "user_id", "rank"),
        doc="Top-K posts per user from the serving two-tower model (source 'model') or, for people the "
        "model has not seen, trending and popular posts in their categories (source 'fallback'); items "
        "the user already interacted with and the user's own posts are never listed. One slice per "
        "model_version, replaced when that version runs again.",
        pii_columns=("user_id",),
    )
)

RECSYS_TABLES = (RECOMMENDATIONS,)

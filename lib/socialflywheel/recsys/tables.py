"""The tables the recommender jobs read and write, declared in the catalog when the package is imported.

``gold.training_examples`` belongs to the features stage; it is declared here only when that stage
has not declared it (so the trainer can read it while the features job is absent), with the same
schema string the features stage uses.
"""

from __future__ import annotations

import importlib

from socialflywheel.lake.catalog import CATALOG, Table, register

TRAINING_EXAMPLES_NAME = "gold.training_examples"
TRAINING_EXAMPLES_SCHEMA = (
    "user_id string, post_id string, author_id string, category string, hashtags array<string>, ts timestamp, "
    "label int, weight double, split string, device string, hour int, dow int, user_features array<double>, "
    "item_features array<double>, event_date date"
)
FEATURES_MODULE = "socialflywheel.features.training_examples"
HASHTAG_TRENDS_NAME = "gold.hashtag_trends"


def _training_examples() -> Table:
    """The features stage's declaration when it exists, else the same contract declared here."""
    try:
        importlib.import_module(FEATURES_MODULE)
    except ImportError:
        pass
    existing = CATALOG.get(TRAINING_EXAMPLES_NAME)
    if existing is not None:
        return existing
    return register(
        Table(
            TRAINING_EXAMPLES_NAME,
            TRAINING_EXAMPLES_SCHEMA,
            partition_by=("event_date",),
            keys=("user_id", "post_id", "ts"),
            doc="Point-in-time training examples: label 1 = engaged, split train/val/test by time, "
            "user features as of the previous day.",
            pii_columns=("user_id", "author_id"),
        )
    )


TRAINING_EXAMPLES = _training_examples()

RECOMMENDATIONS = register(
    Table(
        "gold.recommendations",
        "user_id string, post_id string, rank int, score double, source string, model_version string, "
        "generated_at timestamp",
        keys=("model_version", "user_id", "rank"),
        doc="Top-K posts per user from the serving two-tower model (source 'model') or, for people the "
        "model has not seen, trending and popular posts in their categories (source 'fallback'); items "
        "the user already interacted with and the user's own posts are never listed. One slice per "
        "model_version, replaced when that version runs again.",
        pii_columns=("user_id",),
    )
)

RECSYS_TABLES = (RECOMMENDATIONS,)

"""The tables the recommender jobs read and write, declared in the catalog when the package is imported.

``gold.training_examples`` (the trainer's input) is written by the features stage; both are declared in the catalog.
"""

from __future__ import annotations

from socialflywheel.lake.catalog.stages import RECOMMENDATIONS, TRAINING_EXAMPLES

__all__ = ["HASHTAG_TRENDS_NAME", "RECOMMENDATIONS", "RECSYS_TABLES", "TRAINING_EXAMPLES", "TRAINING_EXAMPLES_NAME"]

TRAINING_EXAMPLES_NAME = TRAINING_EXAMPLES.name
HASHTAG_TRENDS_NAME = "gold.hashtag_trends"

RECSYS_TABLES = (RECOMMENDATIONS,)

"""The tables the recommender jobs read and write, declared in the catalog when the package is imported.

``gold.training_examples`` (the trainer's input) is declared by the features stage and imported here.
"""

from __future__ import annotations

from socialflywheel.features.training_examples import TRAINING_EXAMPLES
from socialflywheel.lake.catalog.stages import RECOMMENDATIONS

TRAINING_EXAMPLES_NAME = TRAINING_EXAMPLES.name
HASHTAG_TRENDS_NAME = "gold.hashtag_trends"

RECSYS_TABLES = (RECOMMENDATIONS,)

"""Tables written by the stages: gold features, graph and recommendation outputs, and stage bookkeeping.

Declared here, not in the stages, so the catalog is complete without importing any stage (stages import
these names; the lake never imports a stage).
"""

from __future__ import annotations

from socialflywheel.lake.catalog.stages.features import (
    ACCOUNT_RISK,
    CAMPAIGN_PERFORMANCE,
    ITEM_FEATURES,
    POST_SENTIMENT,
    SEGMENTS,
    SENTIMENT_AGGREGATES,
    TRAINING_EXAMPLES,
    TREND_SCORES,
    TRENDS,
    USER_FEATURES,
    USER_SEGMENTS,
    WATERMARK,
)
from socialflywheel.lake.catalog.stages.outputs import (
    COMMUNITY_GRAPH,
    CONFORMED,
    ERASURE_REQUESTS,
    ERASURE_SUPPRESSIONS,
    ERASURES,
    FEDERATED_TRENDS,
    GRAPH_CENTRALITY,
    GRAPH_COMMUNITIES,
    PEOPLE_YOU_MAY_KNOW,
    PYMK_QUALITY,
    RECOMMENDATION_FAIRNESS,
    RECOMMENDATIONS,
)
from socialflywheel.lake.catalog.table import Table

__all__ = [
    "ACCOUNT_RISK",
    "CAMPAIGN_PERFORMANCE",
    "COMMUNITY_GRAPH",
    "CONFORMED",
    "ERASURES",
    "ERASURE_REQUESTS",
    "ERASURE_SUPPRESSIONS",
    "FEDERATED_TRENDS",
    "GRAPH_CENTRALITY",
    "GRAPH_COMMUNITIES",
    "ITEM_FEATURES",
    "PEOPLE_YOU_MAY_KNOW",
    "POST_SENTIMENT",
    "PYMK_QUALITY",
    "RECOMMENDATIONS",
    "RECOMMENDATION_FAIRNESS",
    "SEGMENTS",
    "SENTIMENT_AGGREGATES",
    "STAGE_TABLES",
    "TRAINING_EXAMPLES",
    "TRENDS",
    "TREND_SCORES",
    "USER_FEATURES",
    "USER_SEGMENTS",
    "WATERMARK",
]

STAGE_TABLES: tuple[Table, ...] = (
    ERASURES,
    ERASURE_REQUESTS,
    ERASURE_SUPPRESSIONS,
    ACCOUNT_RISK,
    CAMPAIGN_PERFORMANCE,
    WATERMARK,
    GRAPH_CENTRALITY,
    GRAPH_COMMUNITIES,
    COMMUNITY_GRAPH,
    TREND_SCORES,
    TRENDS,
    FEDERATED_TRENDS,
    ITEM_FEATURES,
    PEOPLE_YOU_MAY_KNOW,
    PYMK_QUALITY,
    POST_SENTIMENT,
    RECOMMENDATION_FAIRNESS,
    RECOMMENDATIONS,
    SEGMENTS,
    SENTIMENT_AGGREGATES,
    TRAINING_EXAMPLES,
    USER_FEATURES,
    USER_SEGMENTS,
    CONFORMED,
)

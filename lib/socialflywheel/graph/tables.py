"""The gold tables the graph job writes (declared in :mod:`socialflywheel.lake.catalog.stages`)."""

from __future__ import annotations

from socialflywheel.lake.catalog.stages import GRAPH_CENTRALITY, GRAPH_COMMUNITIES, PEOPLE_YOU_MAY_KNOW

__all__ = ["GRAPH_CENTRALITY", "GRAPH_COMMUNITIES", "GRAPH_TABLES", "PEOPLE_YOU_MAY_KNOW"]

GRAPH_TABLES = (GRAPH_CENTRALITY, GRAPH_COMMUNITIES, PEOPLE_YOU_MAY_KNOW)

"""Graph analytics settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from socialflywheel.config._base import Strict


class GraphConfig(Strict):
    """Which backend runs the graph algorithms and their parameters."""

    backend: Literal["auto", "networkit", "cugraph"] = Field("auto", description="auto picks cugraph when a GPU is visible.")
    threads: int = Field(0, ge=0, description="CPU threads for networkit; 0 = all cores.")
    seed: int = Field(11, description="Seed for Leiden/Louvain and betweenness sampling.")
    pagerank_damping: float = Field(0.85, gt=0, lt=1, description="PageRank damping factor.")
    pagerank_tol: float = Field(1e-10, gt=0, description="PageRank convergence tolerance.")
    betweenness_samples: int = Field(64, ge=1, description="Source samples for approximate betweenness.")
    community_algorithm: Literal["leiden", "louvain"] = Field("leiden", description="Communities written to gold.")
    engagement_half_life_days: float = Field(7.0, gt=0, description="Recency decay of engagement edges.")
    pymk_k: int = Field(20, ge=1, description="People-you-may-know candidates per user.")
    pymk_score: Literal["adamic_adar", "jaccard"] = Field("adamic_adar", description="Candidate ranking.")
    holdout_days: int = Field(0, ge=0, description="Follows of the last N days left out of the graph (evaluation).")

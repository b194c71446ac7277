"""Graph analytics settings."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from socialflywheel.config._base import INT32_MAX, MAX_DAYS, Seed, Strict, Url

EngagementEvent = Literal["like", "share", "comment", "click", "view"]
ENGAGEMENT_EVENTS: list[EngagementEvent] = list(get_args(EngagementEvent))


class GraphConfig(Strict):
    """Which backend runs the graph algorithms, which graphs they see and their parameters."""

    backend: Literal["auto", "networkit", "cugraph"] = Field(
        "auto", description="auto picks cugraph when `import cugraph` works and a GPU is visible, else networkit."
    )
    dask_scheduler: Url | None = Field(
        None,
        min_length=1,
        description="Dask scheduler address (tcp://host:8786) of GPU workers: cugraph then runs its multi-GPU "
        "cugraph.dask API; null runs on one GPU.",
    )
    threads: int = Field(0, ge=0, le=65_536, description="CPU threads for networkit; 0 = all cores.")
    seed: Seed = Field(11, description="Seed for Leiden/Louvain and betweenness sampling.")
    pagerank_damping: float = Field(0.85, gt=0, lt=1, description="PageRank damping factor.")
    pagerank_tol: float = Field(1e-10, gt=0, le=1, description="PageRank convergence tolerance.")
    pagerank_max_iter: int = Field(1000, ge=1, le=10_000_000, description="PageRank iteration cap.")
    betweenness_samples: int = Field(
        64,
        ge=0,
        le=INT32_MAX,
        description="Source samples for approximate betweenness (exact when >= nodes); 0 skips it (null).",
    )
    community_algorithm: Literal["leiden", "louvain"] = Field("leiden", description="Communities written to gold.")
    community_graph: Literal["follows", "engagement", "combined"] = Field(
        "follows",
        description="Graph whose symmetrization (weights summed) is partitioned: follows (weight 1 per follow), "
        "the decayed engagement graph, or both added together.",
    )
    community_restarts: int = Field(
        1, ge=1, le=10_000, description="Seeded community runs (seed, seed+1, ...); the highest modularity is kept."
    )
    leiden_iterations: int = Field(10, ge=1, le=100_000, description="NetworKit ParallelLeiden passes per run.")
    top_influencers: int = Field(5, ge=0, le=100_000, description="Highest-PageRank members listed per community.")
    engagement_half_life_days: float = Field(7.0, gt=0, le=MAX_DAYS, description="Recency decay of engagement edges.")
    engagement_events: list[EngagementEvent] = Field(
        default_factory=lambda: list(ENGAGEMENT_EVENTS),
        description="Event types on another user's post that count as engaging with its author.",
    )
    pymk_k: int = Field(20, ge=1, le=100_000, description="People-you-may-know candidates per user.")
    pymk_score: Literal["adamic_adar", "jaccard"] = Field("adamic_adar", description="Candidate ranking.")
    pymk_max_degree: int | None = Field(
        1000,
        ge=1,
        le=1_000_000_000,
        description="Common neighbours with more neighbours than this (hubs such as influencers) are not counted "
        "in people-you-may-know scores; null counts every one (exact, but a hub's followers each get all the others "
        "as candidates: 1.6e10 two-hop paths at 10M events).",
    )
    holdout_days: int = Field(
        0, ge=0, le=MAX_DAYS, description="Follows of the last N days left out of the graph (evaluation)."
    )
    risk_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Accounts of gold.account_risk (when it exists) left out of every graph: null takes its "
        "is_risky flag (features.risk_threshold); a number leaves out those whose score exceeds it.",
    )

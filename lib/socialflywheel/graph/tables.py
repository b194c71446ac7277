"""The gold tables the graph job writes, declared in the catalog when the package is imported."""

from __future__ import annotations

from socialflywheel.lake.catalog import Table, register

GRAPH_CENTRALITY = register(
    Table(
        "gold.graph_centrality",
        "user_id string, pagerank double, engagement_pagerank double, in_degree bigint, out_degree bigint, "
        "engagement_in double, engagement_out double, core_number bigint, betweenness double, triangles bigint, "
        "clustering double, component bigint, community bigint, rank_in_community bigint, backend string, "
        "as_of timestamp",
        keys=("user_id",),
        doc="Per-person centrality on the follow graph (PageRank, degrees, k-core, sampled betweenness, "
        "triangles, clustering, weakly connected component), PageRank and weighted degrees on the "
        "recency-decayed engagement graph, and the person's community with their PageRank rank inside it.",
        pii_columns=("user_id",),
    )
)

GRAPH_COMMUNITIES = register(
    Table(
        "gold.graph_communities",
        "community bigint, size bigint, modularity double, algorithm string, top_influencers array<string>, "
        "backend string, as_of timestamp",
        keys=("community",),
        doc="Communities of the symmetrized graph (largest first), the partition's modularity and the "
        "community's members with the highest PageRank.",
        pii_columns=("top_influencers",),
    )
)

PEOPLE_YOU_MAY_KNOW = register(
    Table(
        "gold.people_you_may_know",
        "user_id string, candidate_id string, score double, rank bigint, score_kind string, as_of timestamp",
        keys=("user_id", "candidate_id"),
        doc="Friends-of-friends follow suggestions ranked by Adamic-Adar or Jaccard; accounts the user "
        "already follows, the user and risky accounts are excluded.",
        pii_columns=("user_id", "candidate_id"),
    )
)

GRAPH_TABLES = (GRAPH_CENTRALITY, GRAPH_COMMUNITIES, PEOPLE_YOU_MAY_KNOW)

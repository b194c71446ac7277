"""Tables the graph, recommendation, conform and erase stages write.

Graph insight, recommendations and their fairness, and stage bookkeeping (conformed batches, erasure records).
"""

from __future__ import annotations

import pyarrow as pa

from socialflywheel.lake.catalog.stages.features import TRENDS
from socialflywheel.lake.catalog.table import F64, I32, I64, STR, TS, Table

# written by socialflywheel.ingest.conform
CONFORMED = Table(
    "silver.conformed_batches",
    pa.schema(
        {
            "batch_id": STR,
            "conformed_at": TS,
            "rows": I64,
        }
    ),
    keys=("batch_id",),
    doc="Bronze batches already conformed into silver (makes conform incremental).",
    writer="conform",
)

# written by socialflywheel.privacy.erase
ERASURES = Table(
    "audit.erasures",
    pa.schema(
        {
            "erasure_id": STR,
            "requested_at": TS,
            "completed_at": TS,
            "people": I64,
            "people_found": I64,
            "tables": pa.list_(STR),
            "rows_deleted": pa.map_(STR, I64),
            "models_marked": I64,
        }
    ),
    keys=("erasure_id",),
    doc="One row per erasure request: when, which tables, how many rows. Never an identifier.",
    writer="erase",
)

# written by socialflywheel.privacy.requests (``flywheel erase-request``); carried out by ``flywheel erase --request``
ERASURE_REQUESTS = Table(
    "audit.erasure_requests",
    pa.schema(
        {
            "request_id": STR,
            "received_at": TS,
            "people": I64,
            "pseudonyms": pa.list_(STR),
            "status": STR,
            "erasure_id": STR,
            "completed_at": TS,
        }
    ),
    keys=("request_id",),
    doc="Erasure requests by reference: the people as pseudonyms from the moment the request arrives (never raw "
    "ids), emptied when the erasure is carried out (status done, with its erasure_id), so a scheduler only ever "
    "holds the request id.",
    writer="erase-request",
)

# written by socialflywheel.privacy.erase; read by ingest and conform
ERASURE_SUPPRESSIONS = Table(
    "audit.erasure_suppressions",
    pa.schema(
        {
            "token": STR,
            "erasure_id": STR,
            "added_at": TS,
        }
    ),
    keys=("token",),
    doc="Suppression tokens of erased people (a keyed hash of the pseudonym that joins with no other table): "
    "ingest and conform drop their re-delivered rows, so an erasure stays erased.",
    writer="erase",
)

# written by socialflywheel.graph.job
GRAPH_CENTRALITY = Table(
    "gold.graph_centrality",
    pa.schema(
        {
            "user_id": STR,
            "pagerank": F64,
            "engagement_pagerank": F64,
            "in_degree": I64,
            "out_degree": I64,
            "engagement_in": F64,
            "engagement_out": F64,
            "core_number": I64,
            "betweenness": F64,
            "triangles": I64,
            "clustering": F64,
            "component": I64,
            "community": I64,
            "rank_in_community": I64,
            "backend": STR,
            "as_of": TS,
        }
    ),
    keys=("user_id",),
    doc="Per-person centrality on the follow graph (PageRank, degrees, k-core, sampled betweenness, "
    "triangles, clustering, weakly connected component), PageRank and weighted degrees on the "
    "recency-decayed engagement graph, and the person's community with their PageRank rank inside it.",
    pii_columns=("user_id",),
    writer="graph",
)

# written by socialflywheel.graph.job
GRAPH_COMMUNITIES = Table(
    "gold.graph_communities",
    pa.schema(
        {
            "community": I64,
            "size": I64,
            "modularity": F64,
            "algorithm": STR,
            "top_influencers": pa.list_(STR),
            "backend": STR,
            "as_of": TS,
        }
    ),
    keys=("community",),
    doc="Communities of the symmetrized graph (largest first), the partition's modularity and the "
    "community's members with the highest PageRank.",
    pii_columns=("top_influencers",),
    writer="graph",
)

# written by socialflywheel.graph.job (socialflywheel.graph.community_graph)
COMMUNITY_GRAPH = Table(
    "gold.community_graph",
    pa.schema(
        {
            "community": I64,
            "top_categories": pa.list_(STR),
            "top_hashtags": pa.list_(STR),
            "linked_communities": pa.list_(I64),
            "link_edges": pa.list_(I64),
            "as_of": TS,
        }
    ),
    keys=("community",),
    doc="What each community of gold.graph_communities is about (its members' top post categories and hashtags, "
    "over posts they wrote or engaged with), the communities its members' edges reach (most edges first) and how "
    "many edges reach each (link_edges, aligned with linked_communities).",
    writer="graph",
)

# written by socialflywheel.graph.job
PEOPLE_YOU_MAY_KNOW = Table(
    "gold.people_you_may_know",
    pa.schema(
        {
            "user_id": STR,
            "candidate_id": STR,
            "score": F64,
            "rank": I64,
            "score_kind": STR,
            "as_of": TS,
        }
    ),
    keys=("user_id", "candidate_id"),
    doc="Friends-of-friends follow suggestions ranked by Adamic-Adar or Jaccard; accounts the user "
    "already follows, the user and risky accounts are excluded.",
    pii_columns=("user_id", "candidate_id"),
    writer="graph",
)

# written by socialflywheel.graph.job (when graph.holdout_days holds follows out)
PYMK_QUALITY = Table(
    "gold.pymk_quality",
    pa.schema(
        {
            "as_of": TS,
            "holdout_days": I64,
            "k": I64,
            "graph": STR,
            "held_out_follows": I64,
            "recall": F64,
            "baseline_recall": F64,
            "evaluated_at": TS,
        }
    ),
    keys=("as_of", "holdout_days", "k"),
    doc="People-you-may-know against the most-followed baseline per graph run with a holdout: the share of the "
    "follows made in the last graph.holdout_days (kept out of the graph) found in the follower's top k.",
    writer="graph",
)

# written by socialflywheel.recsys.fairness
RECOMMENDATION_FAIRNESS = Table(
    "gold.recommendation_fairness",
    pa.schema(
        {
            "model_version": STR,
            "generated_at": TS,
            "dimension": STR,
            "group_key": STR,
            "items": I64,
            "recommended_items": I64,
            "creators": I64,
            "users": I64,
            "impressions": I64,
            "exposure": F64,
            "impression_share": F64,
            "exposure_share": F64,
            "catalogue_share": F64,
            "gini_exposure": F64,
            "gini_impressions": F64,
            "catalogue_coverage": F64,
            "computed_at": TS,
        }
    ),
    keys=("model_version", "dimension", "group_key"),
    doc="Exposure of one recommendation slice (model_version, generated_at) by creator tier "
    "(emerging < median followers <= established < p90 <= top) and item popularity decile "
    "(1 least .. 10 most popular): position-discounted exposure 1/log2(rank+1) and plain impressions, "
    "their shares next to the group's catalogue share, recipients (users) and creators per group; "
    "the version's Gini of exposure over all catalogue items and catalogue coverage on every row. "
    "Rows of a model version are replaced when it is measured again.",
    writer="recommend",
)

# written by socialflywheel.recsys.recommend_job
RECOMMENDATIONS = Table(
    "gold.recommendations",
    pa.schema(
        {
            "user_id": STR,
            "post_id": STR,
            "rank": I32,
            "score": F64,
            "source": STR,
            "model_version": STR,
            "generated_at": TS,
        }
    ),
    partition_by=("model_version",),
    keys=("model_version", "user_id", "rank"),
    doc="Top-K posts per user from the serving two-tower model (source 'model') or, for people the "
    "model has not seen, trending and popular posts in their categories (source 'fallback'); items "
    "the user already interacted with and the user's own posts are never listed. One slice per "
    "model_version, replaced when that version runs again.",
    pii_columns=("user_id",),
    writer="recommend",
)

# written by socialflywheel.federated.job
FEDERATED_TRENDS = Table(
    "gold.federated_trends",
    pa.schema(
        [
            pa.field("run_id", STR),
            pa.field("privacy", STR),
            pa.field("epsilon_per_day", F64),
            pa.field("epsilon_total", F64),
            pa.field("delta", F64),
            pa.field("cap", I64),
            pa.field("clients", I64),
            *(f for f in TRENDS.schema if f.name != "granularity"),  # the central job's trend columns (day buckets)
        ]
    ),
    keys=("run_id", "hashtag", "start_ts"),
    doc="Daily trending hashtags of the latest federated run, found from what the clients sent: privacy local_dp, "
    "one epsilon_per_day-LDP report per client per day (epsilon_total over the run's days by basic composition, "
    "delta 0); or secagg, clients' vectors with shares of Gaussian noise summed under SecAgg+ (epsilon_total, "
    "delta: user-level over the whole release; epsilon_per_day null). cap hashtags per client per day count. "
    "The central trend job's runs of day buckets over the estimated people per (hashtag, day); uses are rounded "
    "estimates. Replaced by each federated run.",
    writer="federated",
)

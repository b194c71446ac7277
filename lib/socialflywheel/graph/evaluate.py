"""Checks of the graph results against planted ground truth (tests, evaluations) and held-out follows.

People-you-may-know is also measured by the graph job on the follows a holdout kept out (gold.pymk_quality).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from socialflywheel.graph.build import GraphInputs
from socialflywheel.graph.pymk import Candidates, most_followed


def community_nmi(labels: Sequence[int] | np.ndarray, planted: Sequence[int] | np.ndarray) -> float:
    """Normalized mutual information between detected and planted communities (1 = identical partitions)."""
    from sklearn.metrics import normalized_mutual_info_score

    return float(normalized_mutual_info_score(np.asarray(planted), np.asarray(labels)))


@dataclass(frozen=True)
class InfluencerCheck:
    """How many planted influencers rank in the top share of their community by PageRank."""

    influencers: int
    in_top: int
    top_share: float

    @property
    def fraction(self) -> float:
        """Share of influencers in the top (1.0 when there are none)."""
        return self.in_top / self.influencers if self.influencers else 1.0


def influencers_in_top(
    pagerank: np.ndarray, community: np.ndarray, is_influencer: np.ndarray, *, top_share: float = 0.01
) -> InfluencerCheck:
    """Count planted influencers among the ``ceil(top_share * size)`` highest PageRanks of their community.

    Args:
        pagerank: PageRank per node.
        community: community per node (planted or detected; the caller decides which is "theirs").
        is_influencer: planted influencer flag per node.
        top_share: share of each community counted as its top (0.01 = top 1%).
    """
    pagerank = np.asarray(pagerank, dtype=np.float64)
    community = np.asarray(community)
    flags = np.asarray(is_influencer, dtype=bool)
    in_top = 0
    for c in np.unique(community[flags]):
        members = np.flatnonzero(community == c)
        cut = max(1, math.ceil(top_share * len(members)))
        top = members[np.lexsort((members, -pagerank[members]))[:cut]]
        in_top += int(flags[top].sum())
    return InfluencerCheck(influencers=int(flags.sum()), in_top=in_top, top_share=top_share)


def recall_at_k(candidates: Candidates, held_src: np.ndarray, held_dst: np.ndarray, *, k: int = 20) -> float:
    """Share of held-out follows ``(src, dst)`` whose ``dst`` is in ``src``'s top-k candidates."""
    if not len(held_src):
        return 0.0
    keep = candidates.rank <= k
    ids = (candidates.user, candidates.candidate, np.asarray(held_src), np.asarray(held_dst))
    n = int(max(a.max(initial=0) for a in ids)) + 1
    suggested = np.unique(candidates.user[keep].astype(np.int64) * n + candidates.candidate[keep])
    held = np.asarray(held_src, dtype=np.int64) * n + np.asarray(held_dst, dtype=np.int64)
    return float(np.isin(held, suggested).mean())


@dataclass(frozen=True)
class PymkEvaluation:
    """Recall@k of people-you-may-know and of the most-followed baseline on held-out follows."""

    k: int
    recall: float
    baseline_recall: float
    held_out: int

    @property
    def beats_baseline(self) -> bool:
        """Whether pymk's recall is above the baseline's."""
        return self.recall > self.baseline_recall


def evaluate_pymk(
    candidates: Candidates, baseline: Candidates, held_src: np.ndarray, held_dst: np.ndarray, *, k: int = 20
) -> PymkEvaluation:
    """Compare pymk with a baseline (e.g. :func:`socialflywheel.graph.pymk.most_followed`) at k."""
    return PymkEvaluation(
        k=k,
        recall=recall_at_k(candidates, held_src, held_dst, k=k),
        baseline_recall=recall_at_k(baseline, held_src, held_dst, k=k),
        held_out=len(held_src),
    )


def evaluate_holdout(inputs: GraphInputs, candidates: Candidates, *, k: int = 20) -> PymkEvaluation:
    """Recall@k on the held-out follows, against the most-followed baseline over the same training graph.

    The holdout is the last ``graph.holdout_days`` of follows that
    :func:`~socialflywheel.graph.build.build_graph_inputs` kept out of the training graph.
    """
    return evaluate_pymk(candidates, most_followed(inputs.follows, k=k), inputs.holdout.src, inputs.holdout.dst, k=k)

"""Graph analytics on the default simulation, checked against its planted communities and influencers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.graph.build import build_graph_inputs
from socialflywheel.graph.evaluate import community_nmi, evaluate_holdout, influencers_in_top
from socialflywheel.graph.job import run_graph
from socialflywheel.graph.pymk import people_you_may_know
from socialflywheel.lake.io import Lake
from socialflywheel.privacy.pseudonymize import pseudonym

pytestmark = pytest.mark.slow
Default = tuple[FlywheelConfig, Lake]


@pytest.fixture(scope="module")
def graph_on_default(default_lake: Default, spark: Any) -> dict[str, Any]:
    cfg, lake = default_lake
    summary = run_graph(spark, lake, cfg.graph)
    key = cfg.privacy.hmac_key()
    truth = {pseudonym(r["user_id"], key): r for r in lake.read_arrow("truth.users").to_pylist()}
    rows = [r for r in lake.read_arrow("gold.graph_centrality").to_pylist() if r["user_id"] in truth]
    return {"summary": summary, "rows": rows, "truth": truth}


def test_planted_communities_recovered(graph_on_default: dict[str, Any]) -> None:
    rows, truth = graph_on_default["rows"], graph_on_default["truth"]
    humans = [r for r in rows if not truth[r["user_id"]]["is_bot"]]
    nmi = community_nmi([r["community"] for r in humans], [truth[r["user_id"]]["community"] for r in humans])
    assert len(humans) > 4000
    assert nmi >= 0.9, f"NMI {nmi:.3f}"


def test_planted_influencers_top_percent_by_pagerank(graph_on_default: dict[str, Any]) -> None:
    rows, truth = graph_on_default["rows"], graph_on_default["truth"]
    check = influencers_in_top(
        np.array([r["pagerank"] for r in rows]),
        np.array([truth[r["user_id"]]["community"] for r in rows]),
        np.array([truth[r["user_id"]]["is_influencer"] for r in rows]),
        top_share=0.01,
    )
    assert check.influencers >= 8
    assert check.in_top == check.influencers, f"{check.in_top}/{check.influencers} influencers in the top 1%"


def test_people_you_may_know_beats_most_followed_on_last_week(default_lake: Default, spark: Any) -> None:
    _, lake = default_lake
    inputs = build_graph_inputs(
        lake.read(spark, "silver.follows"),
        lake.read(spark, "silver.events"),
        lake.read(spark, "silver.posts"),
        holdout_days=7,
    )
    result = evaluate_holdout(inputs, people_you_may_know(inputs.follows, k=20), k=20)
    assert result.held_out > 500
    assert result.beats_baseline, f"recall@20 {result.recall:.3f} vs most-followed {result.baseline_recall:.3f}"

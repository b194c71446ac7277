"""Real public formats through the lake: SNAP edge lists as follows, MovieLens ratings as interactions."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.ingest import run_conform, run_ingest
from socialflywheel.ingest.adapters import adapt_ratings, adapt_snap
from socialflywheel.lake.io import Lake
from socialflywheel.privacy.pseudonymize import pseudonym


def test_snap_edge_list_becomes_follows(spark: Any, work: FlywheelConfig, lake: Lake, tmp_path: Path) -> None:
    karate = nx.karate_club_graph()
    edges = tmp_path / "karate.txt"
    edges.write_text(
        "# Zachary karate club, SNAP style\n# FromNodeId\tToNodeId\n"
        + "".join(f"{a}\t{b}\n" for a, b in karate.edges())
    )
    result = adapt_snap(edges, work.landing_dir, name="karate", followed_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    assert result.events == karate.number_of_edges() == 78
    out = run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy)
    assert out.rows_new == 78 and out.rows_quarantined == 0
    run_conform(spark, lake, work.privacy)
    key = work.privacy.hmac_key()
    got = {(f["follower_id"], f["followee_id"]) for f in lake.read_arrow("silver.follows").to_pylist()}
    assert got == {(pseudonym(f"snap-{a}", key), pseudonym(f"snap-{b}", key)) for a, b in karate.edges()}
    # adapting the same file again gives the same ids: nothing is taken twice
    adapt_snap(edges, work.landing_dir, name="karate", followed_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC))
    assert run_ingest(spark, lake, work.ingest, landing=work.landing_uri, privacy=work.privacy).files == 0


def _movielens_100k() -> Path | None:
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "dataset_example" / "ml-100k"
    return path if (path / "ml-100k.inter").exists() else None


def test_movielens_ratings_become_interactions(spark: Any, tmp_path: Path) -> None:
    from tests.conftest import make_config

    ml = _movielens_100k()
    if ml is None:
        if os.environ.get("CI"):
            pytest.fail("MovieLens 100K ships in the recbole wheel: `make install` adds it")
        pytest.skip("MovieLens 100K ships in the recbole wheel (make install adds it)")
    cfg = make_config(tmp_path / "w", "ingest.min_ts=1990-01-01T00:00:00Z")
    lake = Lake.from_config(cfg)
    result = adapt_ratings(ml / "ml-100k.inter", cfg.landing_dir, name="ml100k", movies=ml / "ml-100k.item")
    ratings = (ml / "ml-100k.inter").read_text().splitlines()[1:]
    likes = sum(float(r.split("\t")[2]) >= 4 for r in ratings)
    movies = len({r.split("\t")[1] for r in ratings})
    assert len(ratings) == 100_000 and result.events == movies + len(ratings) + likes
    out = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    assert out.rows_new == result.events and out.rows_quarantined == 0
    summary = run_conform(spark, lake, cfg.privacy)
    assert summary.silver_posts == movies == 1682
    assert summary.silver_users == 943 + 1  # the raters and the "studio" that posts every movie
    posts = lake.read_arrow("silver.posts", columns=["category"]).column("category").to_pylist()
    assert {"drama", "comedy", "action"} <= set(posts)


def test_like_threshold_zero_makes_every_rating_a_positive(tmp_path: Path) -> None:
    ml = _movielens_100k()
    if ml is None:
        pytest.skip("MovieLens 100K ships in the recbole wheel (make install adds it)")
    out = tmp_path / "landing"
    result = adapt_ratings(ml / "ml-100k.inter", out, name="ml100k", like_threshold=0)
    kinds = [json.loads(line)["event_type"] for p in out.rglob("*.jsonl") for line in p.read_text().splitlines()]
    assert kinds.count("like") == kinds.count("view") == 100_000 and result.events == len(kinds)

"""run_recommend on the tiny simulation: no already-seen or own post, fallback for unknown users, ranks 1..K."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import torch

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from tests.recsys.examples_fixture import recsys_lake
from tests.recsys.test_train_job import GOOD, small_config

torch.set_num_threads(1)
K = 20


@pytest.fixture(scope="module")
def recommended(
    tmp_path_factory: pytest.TempPathFactory, tiny_lake: tuple[FlywheelConfig, Lake], spark: Any
) -> dict[str, Any]:
    from socialflywheel.recsys.recommend_job import run_recommend
    from socialflywheel.recsys.train_job import run_train

    _, base = recsys_lake(tmp_path_factory.getbasetemp() / "recsys_tiny", tiny_lake[0], spark)
    cfg = small_config(tmp_path_factory.mktemp("recommend"), base, *GOOD, f"recommend.k={K}")
    trained = run_train(spark, cfg, Lake.from_config(cfg))
    lake = Lake.from_config(cfg)
    first = run_recommend(spark, cfg, lake)
    second = run_recommend(spark, cfg, Lake.from_config(cfg))
    recs = lake.read_arrow("gold.recommendations")
    return {"cfg": cfg, "lake": lake, "trained": trained, "first": first, "second": second, "recs": recs}


def test_every_user_gets_k_ranked_unseen_posts(recommended: dict[str, Any]) -> None:
    lake: Lake = recommended["lake"]
    recs = recommended["recs"]
    assert recs.num_rows == recommended["first"]["rows_out"] == recommended["second"]["rows_out"]  # replaced
    events = lake.read_arrow("silver.events", columns=["user_id", "post_id"])
    posts = lake.read_arrow("silver.posts", columns=["post_id", "author_id"])
    seen: dict[str, set[str]] = defaultdict(set)
    for u, p in zip(events.column("user_id").to_pylist(), events.column("post_id").to_pylist(), strict=True):
        if u and p:
            seen[u].add(p)
    for p, a in zip(posts.column("post_id").to_pylist(), posts.column("author_id").to_pylist(), strict=True):
        seen[a].add(p)
    lists: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for row in recs.to_pylist():
        lists[row["user_id"]].append((row["rank"], row["post_id"]))
        assert row["model_version"] == recommended["trained"]["model_version"]
    users = set(lake.read_arrow("silver.users", columns=["user_id"]).column("user_id").to_pylist())
    assert set(lists) == users
    for user, items in lists.items():
        ranks = sorted(r for r, _ in items)
        assert ranks == list(range(1, len(ranks) + 1)), user
        assert len(ranks) == K
        posts_listed = [p for _, p in items]
        assert len(set(posts_listed)) == K and not seen[user].intersection(posts_listed)


def test_users_absent_from_training_get_the_fallback(recommended: dict[str, Any]) -> None:
    recs = recommended["recs"]
    data = Path(recommended["trained"]["data_root"])
    vocab = pq.read_table(data / "users.parquet")
    trained_users = set(pc.filter(vocab.column("user_id"), pc.greater(vocab.column("positives"), 0)).to_pylist())
    source: dict[str, set[str]] = defaultdict(set)
    for u, s in zip(recs.column("user_id").to_pylist(), recs.column("source").to_pylist(), strict=True):
        source[u].add(s)
    absent = [u for u in source if u not in trained_users]
    assert absent, "the tiny lake should have people without a training history"
    assert all(source[u] == {"fallback"} for u in absent)
    assert all(source[u] == {"model"} for u in trained_users)
    first = recommended["first"]
    assert first["fallback_users"] == len(absent) and first["model_users"] == len(trained_users)


def test_index_and_embeddings_saved_with_the_version(recommended: dict[str, Any]) -> None:
    saved = Path(recommended["first"]["saved"]) / "index"
    assert {"items.faiss", "item_embeddings.npy", "item_ids.npy", "index.json", "user_embeddings.npy"} <= {
        p.name for p in saved.iterdir()
    }
    assert recommended["first"]["index"] == "flat"

"""Small planted datasets shared by the recommender tests (built once per session, seconds each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from socialflywheel.recsys.core.data import DatasetMeta
from socialflywheel.recsys.core.synthetic import make_planted_dataset


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DatasetMeta]:
    """1,000 users with topic tastes, 500 items, ~21k training examples in 4 shards."""
    root = tmp_path_factory.mktemp("planted")
    meta = make_planted_dataset(
        root, num_users=1000, num_items=500, interactions_per_user=30, rows_per_group=2000, seed=3
    )
    return root, meta


@pytest.fixture(scope="session")
def uneven(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DatasetMeta]:
    """Two shards of one row group each holding 92% and 8% of the rows: one rank gets far fewer."""
    root = tmp_path_factory.mktemp("uneven")
    meta = make_planted_dataset(
        root,
        num_users=400,
        num_items=200,
        interactions_per_user=20,
        shards=2,
        shard_weights=[0.92, 0.08],
        rows_per_group=100_000,
        seed=5,
    )
    return root, meta

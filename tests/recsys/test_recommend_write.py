"""gold.recommendations rows: known rows from ranked lists, list invariants end to end, the per-version slice write."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.lake.io import Lake
from socialflywheel.recsys.index import build_index, fallback_topk, search_topk
from socialflywheel.recsys.recommend_write import recommendation_rows, recommendations_table, write_recommendations
from socialflywheel.recsys.serving import ServingSignals, fallback_users
from socialflywheel.recsys.tables import RECOMMENDATIONS

STAMP = dt.datetime(2024, 5, 1, 12, 0)


def test_rows_of_ranked_lists_known_answer() -> None:
    """Holes (``-1``) are skipped and never leave a rank gap. Tried: ranks by column (``arange(1, k + 1)``)
    and users laid out with ``np.tile`` instead of ``np.repeat``; both failed here."""
    top = np.array([[5, 7, -1], [-1, -1, -1], [3, -1, 4]])
    scores = np.array([[0.9, 0.5, -np.inf], [-np.inf] * 3, [0.7, -np.inf, 0.2]], dtype=np.float32)
    post_ids = pa.array([f"p{i}" for i in range(8)])
    rows = recommendation_rows(pa.array(["a", "b", "c"]), top, scores, post_ids, source="fallback")
    got = [(r["user_id"], r["post_id"], r["rank"], round(r["score"], 6), r["source"]) for r in rows.to_pylist()]
    assert got == [
        ("a", "p5", 1, 0.9, "fallback"),
        ("a", "p7", 2, 0.5, "fallback"),
        ("c", "p3", 1, 0.7, "fallback"),
        ("c", "p4", 2, 0.2, "fallback"),
    ]
    table = recommendations_table([rows, rows.slice(0, 1)], version="7", generated_at=STAMP)
    assert table.column_names == RECOMMENDATIONS.column_names
    assert set(table.column("model_version").to_pylist()) == {"7"} and table.num_rows == 5
    assert set(table.column("generated_at").to_pylist()) == {STAMP}


def _lists(k: int) -> tuple[pa.Table, dict[str, set[int]], dict[str, int], dict[str, str]]:
    """Model and fallback lists the way the job makes them, on random vectors and seen pairs.

    50 people (global rows), 30 served by the model in shuffled order, 60 items of which 45 are in the
    corpus; some people have seen nearly the whole corpus, so their lists are short.
    """
    rng = np.random.default_rng(7)
    num_users, n = 50, 60
    corpus = np.sort(rng.choice(n, size=45, replace=False))
    seen_sets = [set(rng.choice(n, size=int(rng.integers(0, 12)), replace=False).tolist()) for _ in range(num_users)]
    for u in (3, 41):  # a model user and a fallback user left with two unseen corpus items
        seen_sets[u] = set(range(n)) - set(corpus[:2].tolist())
    seen = np.array(sorted(u * n + i for u, items in enumerate(seen_sets) for i in items), dtype=np.int64)
    users = pa.array([f"u{u:02d}" for u in range(num_users)])
    sig = ServingSignals(
        users=users, seen=seen, num_items=n, now=0, trending=rng.random(n), popular=rng.random(n),
        pref=rng.dirichlet(np.ones(3), size=num_users), live=np.ones(n, dtype=bool),
    )  # fmt: skip
    model_global = rng.permutation(np.arange(0, 35))[:30]
    model_global = np.append(model_global[model_global != 3], 3)
    vec = rng.normal(size=(n, 8)).astype(np.float32)
    user_vec = rng.normal(size=(len(model_global), 8)).astype(np.float32)
    index = build_index(vec[corpus], item_ids=corpus, kind="flat")
    s_rows, s_items = sig.seen_pairs(model_global)
    top, scores = search_topk(index, user_vec, k=k, seen_rows=s_rows, seen_items=s_items)
    fb_global = fallback_users(num_users, model_global)
    f_rows, f_items = sig.seen_pairs(fb_global)
    fb_top, fb_scores = fallback_topk(
        category_pref=sig.pref[fb_global], item_category=np.arange(n) % 3, trending=sig.trending,
        popular=sig.popular, k=k, candidates=corpus, seen_rows=f_rows, seen_items=f_items, chunk=7,
    )  # fmt: skip
    post_ids = pa.array([f"p{i:02d}" for i in range(n)])
    recs = recommendations_table(
        [
            recommendation_rows(pc.take(users, pa.array(model_global)), top, scores, post_ids, source="model"),
            recommendation_rows(pc.take(users, pa.array(fb_global)), fb_top, fb_scores, post_ids, source="fallback"),
        ],
        version="3",
        generated_at=STAMP,
    )
    names = users.to_pylist()
    seen_by = {names[u]: {int(i) for i in items} for u, items in enumerate(seen_sets)}
    unseen = {names[u]: len(set(corpus.tolist()) - seen_sets[u]) for u in range(num_users)}
    source = {names[u]: "model" for u in model_global} | {names[u]: "fallback" for u in fb_global}
    return recs, seen_by, unseen, source


def test_lists_hold_k_unseen_distinct_posts_per_person_where_possible() -> None:
    """Invariants of the table the job writes: nobody gets a post they have seen, no (user, post) twice,
    ``min(k, unseen corpus posts)`` rows per person ranked 1..m, one source per person. Tried: users laid
    out with ``np.tile`` in recommendation_rows, dropping search_topk's over-fetch for seen items
    (``fetch = min(index.size, k)``), and seen pairs as global rows instead of positions in
    ``seen_pairs``; each failed here."""
    k = 10
    recs, seen_by, unseen, source = _lists(k)
    lists: dict[str, list[tuple[int, int]]] = defaultdict(list)
    pairs = set()
    for r in recs.to_pylist():
        post = int(r["post_id"][1:])
        assert post not in seen_by[r["user_id"]], r
        assert (r["user_id"], post) not in pairs, r
        assert r["source"] == source[r["user_id"]] and r["model_version"] == "3"
        pairs.add((r["user_id"], post))
        lists[r["user_id"]].append((r["rank"], post))
    assert set(lists) == set(source)
    for user, items in lists.items():
        assert sorted(rank for rank, _ in items) == list(range(1, min(k, unseen[user]) + 1)), user
    assert len(lists["u03"]) == 2 and len(lists["u41"]) == 2  # short lists, not padded


def test_write_replaces_only_its_version_slice(lake: Lake, spark: Any) -> None:
    """Tried: dropping ``replace_where`` (version 2's rows vanish on the rewrite of version 1); failed here."""
    rows = recommendation_rows(
        pa.array(["a", "b"]), np.array([[0, 1], [1, -1]]), np.ones((2, 2), np.float32), pa.array(["p0", "p1"]),
        source="model",
    )  # fmt: skip
    write_recommendations(spark, lake, recommendations_table([rows], version="1", generated_at=STAMP), version="1")
    write_recommendations(spark, lake, recommendations_table([rows], version="2", generated_at=STAMP), version="2")
    again = recommendations_table([rows.slice(0, 1)], version="1", generated_at=STAMP)
    write_recommendations(spark, lake, again, version="1")
    got = lake.read_arrow(RECOMMENDATIONS.name, columns=["model_version", "user_id", "post_id", "rank"])
    assert sorted(zip(*(got.column(c).to_pylist() for c in got.column_names), strict=True)) == [
        ("1", "a", "p0", 1),
        ("2", "a", "p0", 1),
        ("2", "a", "p1", 2),
        ("2", "b", "p1", 1),
    ]

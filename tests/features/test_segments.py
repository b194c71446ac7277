"""Audience segments: separable groups are recovered, small segments suppressed, every user assigned."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake


def test_blobs_are_separated_and_small_segment_suppressed(spark: Any) -> None:
    import numpy as np

    from socialflywheel.features.segments import assign_segments, fit_segment_centres, segment_profiles

    rng = np.random.default_rng(0)
    sizes = {"a": 40, "b": 30, "c": 9}  # c has k - 1 users
    centre = {"a": (0.0, 0.0), "b": (10.0, 0.0), "c": (0.0, 10.0)}
    rows = [
        (f"{g}{i}", *(float(v) for v in np.asarray(centre[g]) + rng.normal(0, 0.5, 2)))
        for g, n in sizes.items()
        for i in range(n)
    ]
    features = spark.createDataFrame(rows, "user_id string, f1 double, f2 double")
    fit = fit_segment_centres(features, columns=["f1", "f2"], k=3, seed=1, max_users=1000)
    assigned = {r["user_id"]: r["segment"] for r in assign_segments(features, **fit).collect()}
    assert len(assigned) == sum(sizes.values())
    by_group = {g: {s for u, s in assigned.items() if u[0] == g} for g in sizes}
    assert all(len(s) == 1 for s in by_group.values())  # each blob is one segment
    assert len(set.union(*by_group.values())) == 3  # and they differ
    ts = dt.datetime(2026, 10, 1)
    events = spark.createDataFrame(
        [("view", u, "p_music" if u[0] == "a" else "p_food", ts) for u in assigned],
        "event_type string, user_id string, post_id string, ts timestamp",
    )
    posts = spark.createDataFrame([("p_music", "music"), ("p_food", "food")], "post_id string, category string")
    profiles = segment_profiles(
        assign_segments(features, **fit), features, events, posts, columns=["f1", "f2"], min_users=10
    ).collect()
    got = {r["users"]: r for r in profiles}
    assert set(got) == {40, 30}  # the 9-user segment is suppressed
    assert got[40]["top_categories"] == ["music"] and got[30]["top_categories"] == ["food"]
    assert abs(got[30]["features"]["f1"] - 10.0) < 0.5


def test_default_lake_segments_follow_communities(default_lake: tuple[FlywheelConfig, Lake], spark: Any) -> None:
    from sklearn.metrics import adjusted_mutual_info_score

    from socialflywheel.features.segments import build_segments
    from socialflywheel.privacy.pseudonymize import pseudonym

    cfg, lake = default_lake
    published = build_segments(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    users = lake.read_arrow("gold.user_segments").to_pylist()
    profiles = lake.read_arrow("gold.segments").to_pylist()
    n_users = lake.read(spark, "silver.users").count()
    assert len(users) == len({u["user_id"] for u in users}) == n_users
    assert published == len(profiles) and 2 <= published <= cfg.features.segments
    assert min(p["users"] for p in profiles) >= cfg.privacy.min_group_users
    assert all(p["top_categories"] or p["features"] for p in profiles)
    key = cfg.privacy.hmac_key()
    community = {pseudonym(r["user_id"], key): r["community"] for r in lake.read_arrow("truth.users").to_pylist()}
    pairs = [(community[u["user_id"]], u["segment"]) for u in users if u["user_id"] in community]
    ami = adjusted_mutual_info_score([p[0] for p in pairs], [p[1] for p in pairs])
    print(f"segments: {published} published, AMI with planted communities {ami:.3f}")
    assert ami >= 0.2, ami

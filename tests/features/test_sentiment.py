"""gold.post_sentiment recovers planted sentiment; aggregates are k-suppressed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake


def test_vader_labels_match_planted_sentiment(default_lake: tuple[FlywheelConfig, Lake], spark: Any) -> None:
    from sklearn.metrics import f1_score

    from socialflywheel.features.sentiment import build_post_sentiment

    cfg, lake = default_lake
    rows = build_post_sentiment(spark, lake, k=cfg.privacy.min_group_users)
    got = {r["event_id"]: r for r in lake.read_arrow("gold.post_sentiment").to_pylist()}
    truth = lake.read_arrow("truth.sentiment").to_pylist()
    assert rows == len(got)
    assert {t["event_id"] for t in truth} <= set(got)
    f1 = f1_score([t["sentiment"] for t in truth], [got[t["event_id"]]["label"] for t in truth], average="macro")
    per_kind = {
        kind: f1_score(
            [t["sentiment"] for t in truth if t["kind"] == kind],
            [got[t["event_id"]]["label"] for t in truth if t["kind"] == kind],
            average="macro",
        )
        for kind in ("post", "comment")
    }
    print(f"sentiment macro-F1 all={f1:.3f} posts={per_kind['post']:.3f} comments={per_kind['comment']:.3f}")
    assert f1 >= 0.85, f1
    assert min(per_kind.values()) >= 0.85, per_kind
    aggregates = lake.read_arrow("gold.sentiment_aggregates").to_pylist()
    assert {"hashtag", "category"} <= {r["group_type"] for r in aggregates}
    assert min(r["users"] for r in aggregates) >= cfg.privacy.min_group_users
    assert all(r["positive"] + r["negative"] + r["neutral"] == r["items"] for r in aggregates)


def test_aggregates_known_answer_and_suppression(spark: Any) -> None:
    from socialflywheel.features.sentiment import post_sentiment, sentiment_aggregates

    ts = dt.datetime(2026, 10, 3, 12)
    texts = {"good": "what a great day, love it", "bad": "this is terrible and awful", "flat": "the bus leaves at 6"}
    rows = []
    # 10 people post about #big (k): kept; 9 about #small (k - 1): suppressed.
    for i in range(10):
        kind = "good" if i < 6 else "bad" if i < 9 else "flat"
        rows.append((f"b{i}", "post", f"u{i}", f"pb{i}", ts, texts[kind]))
    for i in range(9):
        rows.append((f"s{i}", "post", f"v{i}", f"ps{i}", ts, texts["good"]))
    rows.append(("c0", "comment", "u0", "pb1", ts, texts["bad"]))  # a comment counts to its post's groups
    events = spark.createDataFrame(
        rows, "event_id string, event_type string, user_id string, post_id string, ts timestamp, text string"
    )
    posts = spark.createDataFrame(
        [(f"pb{i}", "music", ["big"], None) for i in range(10)]
        + [(f"ps{i}", "food", ["Small"], None) for i in range(9)],
        "post_id string, category string, hashtags array<string>, campaign_id string",
    )
    scored = post_sentiment(events)
    labels = {r["event_id"]: r["label"] for r in scored.collect()}
    assert labels["b0"] == "positive" and labels["b6"] == "negative" and labels["b9"] == "neutral"
    out = {(r["group_type"], r["group_key"]): r for r in sentiment_aggregates(scored, posts, min_users=10).collect()}
    assert set(out) == {("hashtag", "big"), ("category", "music")}
    big = out[("hashtag", "big")]
    assert (big["items"], big["posts"], big["comments"], big["users"]) == (11, 10, 1, 10)
    assert (big["positive"], big["negative"], big["neutral"]) == (6, 4, 1)
    assert big["day"] == ts.date()

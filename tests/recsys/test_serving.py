"""Serving inputs of the recommend job on hand-built tables: seen pairs, trend, popularity, taste, the time prior."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import torch
from torch import nn

from socialflywheel.recsys.core.clock import NUM_TIME_FEATURES
from socialflywheel.recsys.core.model import TwoTower
from socialflywheel.recsys.serving import (
    DAY,
    ServingSignals,
    fallback_users,
    hashtag_strength,
    model_users,
    positives_before,
    serving_prior,
    serving_signals,
)

NOW = 1_700_000_000


def _ts(*seconds: int | None) -> pa.Array:
    return pa.array(
        [None if s is None else dt.datetime.fromtimestamp(s, dt.UTC).replace(tzinfo=None) for s in seconds],
        pa.timestamp("us"),
    )


def _trends() -> pa.Table:
    return pa.table(
        {
            "hashtag": ["#a", "#a", "#b", "#c"],
            "end_ts": _ts(NOW - DAY, NOW - 5 * DAY, NOW, NOW),
            "strength": pa.array([2.0, 10.0, None, 7.0]),
        }
    )


def _signal_inputs() -> dict[str, Any]:
    """Four catalogue posts, people u1..u3 in silver.users and u4 only in events; rows with a null id, an
    unknown post and a view (seen, not engaged) included."""
    rows = [  # user, post, type, ts
        ("u1", "p0", "like", NOW - 10),
        ("u1", "p1", "view", NOW - 5),
        ("u1", "p1", "comment", NOW - 20),
        ("u2", "p1", "share", NOW),
        ("u2", "p2", "like", NOW - 2 * DAY),
        ("u4", "p1", "like", NOW - 100),
        ("u4", "p2", "click", NOW - DAY),  # on the edge of the last day: recent
        (None, "p3", "like", NOW + 50),  # no user: ignored, even for the newest time
        ("u3", None, "like", NOW + 60),  # no post: ignored
        ("u3", "px", "like", NOW - 1),  # not in the catalogue
    ]
    events = pa.table(
        {
            "user_id": [r[0] for r in rows],
            "post_id": [r[1] for r in rows],
            "event_type": [r[2] for r in rows],
            "ts": _ts(*(r[3] for r in rows)),
        }
    )
    posts = pa.table(
        {
            "post_id": ["p3", "p0", "p2"],
            "author_id": ["u3", "u9", "u1"],
            "hashtags": pa.array([["#a", "#b"], ["#a"], None], pa.list_(pa.string())),
        }
    )
    items = pa.table({"post_id": ["p0", "p1", "p2", "p3"], "item_category": [0, 1, 1, 0]})
    return {
        "events": events,
        "posts": posts,
        "users": pa.table({"user_id": ["u3", "u1", "u2"]}),
        "items": items,
        "item_counts": np.array([1, 0, 2, 0]),
        "trends": _trends(),
        "fresh_days": 2,
    }


@pytest.fixture(scope="module")
def signals() -> ServingSignals:
    return serving_signals(**_signal_inputs())


@pytest.mark.parametrize("rows", [1, 2, 3, 4, 7])
def test_streamed_events_give_the_same_signals(signals: ServingSignals, rows: int) -> None:
    """silver.events read batch by batch (the recommend job streams it file by file) gives every signal the whole
    table gives."""
    inputs = _signal_inputs()
    events: pa.Table = inputs.pop("events")
    asked: list[list[str]] = []

    def reader(columns: list[str]) -> list[pa.RecordBatch]:
        asked.append(columns)
        return events.select(columns).to_batches(max_chunksize=rows)

    streamed = serving_signals(events=reader, **inputs)
    assert len(asked) == 2  # two passes: people and the latest time, then pairs and counts
    assert streamed.users.equals(signals.users) and streamed.now == signals.now
    for name in ("seen", "trending", "popular", "pref", "live"):
        np.testing.assert_array_equal(getattr(streamed, name), getattr(signals, name), err_msg=name)


def test_signals_known_answer(signals: ServingSignals) -> None:
    """Every field against a hand count. Tried: keeping rows with a null user (``now`` moves to NOW + 50 and
    the recent window loses p0's like), dropping the authors' own posts from ``seen`` (11 and 2 vanish),
    ``>`` for ``>=`` in the recent-engagement window (u4's click a day ago drops), counting views as
    engagements, normalizing the tastes per category instead of per person; each failed here."""
    assert signals.users.to_pylist() == ["u1", "u2", "u3", "u4"]
    assert signals.now == NOW
    # u1: p0, p1 and its own p2; u2: p1, p2; u3: its own p3 (px is not in the catalogue); u4: p1, p2
    assert signals.seen.tolist() == [0, 1, 2, 5, 6, 11, 13, 14]
    # recent engagements: p0 once, p1 three times (u1 comment, u2 share, u4 like), p2 once (u4's click a day
    # ago; u2's like two days ago is too old); hashtag #a (2.0) on p0 and p3
    np.testing.assert_allclose(signals.trending, [np.log1p(1) + 2.0, np.log1p(3), np.log1p(1), 2.0])
    np.testing.assert_allclose(signals.popular, [1 + 1, 0 + 3, 2 + 2, 0])
    np.testing.assert_allclose(signals.pref, [[0.5, 0.5], [0.0, 1.0], [0.0, 0.0], [0.0, 1.0]])


def test_hashtag_strength_sums_active_trends_only() -> None:
    """Tried: ``>`` for ``>=`` on the trend end (the #b trend ending at ``now - 0`` stays, but #a ending
    exactly ``days`` back drops) and no ``fill_null`` (None strength raises); both failed here."""
    assert hashtag_strength(_trends(), now=NOW, days=1) == {"#a": 2.0, "#b": 0.0, "#c": 7.0}
    assert hashtag_strength(_trends(), now=NOW, days=5) == {"#a": 12.0, "#b": 0.0, "#c": 7.0}
    assert hashtag_strength(None, now=NOW, days=5) == {}


def test_seen_pairs_are_positions_in_the_requested_rows(signals: ServingSignals) -> None:
    """Tried: returning global user rows instead of positions (``users`` for ``mine``) and dropping the
    sort by position; both failed here."""
    rows, items = signals.seen_pairs(np.array([3, 0]))
    assert rows.tolist() == [0, 0, 1, 1, 1] and items.tolist() == [1, 2, 0, 1, 2]
    rows, items = signals.seen_pairs(np.array([10, 1]))  # 10: nobody with a seen pair
    assert rows.tolist() == [1, 1] and items.tolist() == [1, 2]
    rows, items = signals.seen_pairs(np.zeros(0, np.int64))
    assert rows.tolist() == [] and items.tolist() == []


def test_model_serves_people_with_a_history_still_in_silver() -> None:
    """Tried: ``>= 0`` for ``> 0`` on positives (u1 joins) and not dropping people erased from silver
    (u9 with global row -1 stays); both failed here."""
    vocab = pa.table({"user_id": ["u2", "u9", "u1", "u3"], "positives": [3, 5, 0, 1]})
    rows, global_rows = model_users(vocab, pa.array(["u1", "u2", "u3", "u4"]))
    assert rows.tolist() == [0, 3] and global_rows.tolist() == [1, 2]
    assert fallback_users(4, global_rows).tolist() == [0, 3]


def test_positives_before_are_catalogue_posts_strictly_before_the_query_time() -> None:
    """Tried: ``<=`` for ``<`` (the positive at ``at`` is kept); failed here."""
    at = NOW
    examples = pa.table({"post_id": ["p0", "px", "p1", "p2", "p0"], "ts": _ts(at - 10, at - 5, at, at + 1, at - 3600)})
    items, ts = positives_before(examples, pa.array(["p0", "p1", "p2"]), at=at)
    assert items.tolist() == [0, 0] and ts.tolist() == [at - 10, at - 3600]


def _model(time_features: int) -> TwoTower:
    torch.manual_seed(0)
    return TwoTower(
        num_users=2, num_items=3, num_categories=1, num_authors=1, num_hashtags=1, user_feature_dim=1,
        item_feature_dim=1, embedding_dim=4, hidden_dim=4, time_features=time_features, temperature=0.5,
    )  # fmt: skip


def test_serving_prior_counts_positives_before_the_query_hour_and_hides_future_items() -> None:
    """A prior that reads only the "positives so far" feature: item 0 had two positives in the hour before
    ``at`` and one inside ``at``'s own hour (not counted), item 1 none, item 2 is created after ``at``.
    Tried: dropping the ``-inf`` of items not created yet (by returning the raw prior) and passing
    ``at + 3600`` to the clock (the third positive counts); both failed here."""
    model = _model(NUM_TIME_FEATURES)
    reads_count = nn.Linear(NUM_TIME_FEATURES, 1)
    with torch.no_grad():
        reads_count.weight.copy_(torch.tensor([[0.0, 1.0, 0.0, 0.0, 0.0]]))
        reads_count.bias.zero_()
    model.time_prior = nn.Sequential(reads_count)
    t0 = 10_000
    positives = (np.array([0, 0, 0]), np.array([t0, t0 + 100, t0 + 3700]))
    prior = serving_prior(model, created=np.array([0, 0, t0 + 9000]), positives=positives, at=t0 + 4000, num_items=3)
    np.testing.assert_allclose(prior[:2], [0.5 * np.log1p(2) / 4.0, 0.0], rtol=1e-6)
    assert prior[2] == -np.inf and prior.dtype == np.float32


def test_serving_prior_is_zero_without_a_learned_prior_or_creation_times() -> None:
    """No prior: zeros everywhere, even for an item created after ``at`` (the index keeps it). Tried:
    always building the clock (item 2 turns ``-inf``); failed here."""
    created = np.array([0, 0, 50_000])
    no_prior = serving_prior(_model(0), created=created, positives=None, at=20_000, num_items=3)
    assert no_prior.tolist() == [0.0, 0.0, 0.0]
    no_times = serving_prior(_model(NUM_TIME_FEATURES), created=None, positives=None, at=20_000, num_items=3)
    assert no_times.tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="needs the positives"):
        serving_prior(_model(NUM_TIME_FEATURES), created=created, positives=None, at=20_000, num_items=3)

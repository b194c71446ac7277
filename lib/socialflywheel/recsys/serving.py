"""Serving-time inputs of the recommend job: seen pairs, trend, popularity, taste, model users, the time prior.

Pure functions over Arrow tables and NumPy arrays: the job reads silver.events, silver.posts,
silver.users, gold.hashtag_trends and gold.training_examples and hands the tables in; nothing here
touches the lake. Item positions are the catalogue's row order (``item_idx``); user positions are the
sorted vocabulary of silver.users and event authors (:attr:`ServingSignals.users`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.lake.catalog import ENGAGEMENT_TYPES
from socialflywheel.recsys._arrow import encode, seconds, vocabulary

if TYPE_CHECKING:
    from socialflywheel.recsys.core.model import TwoTower

DAY = 86_400


@dataclass(frozen=True)
class ServingSignals:
    """What silver says about people and catalogue items as of the newest event.

    Attributes:
        users: Every person of silver.users or silver.events, sorted: the global user order.
        seen: ``user * num_items + item`` of every pair never to list (interacted with, or authored), sorted.
        num_items: Catalogue size.
        now: Newest event time in seconds (0 without events).
        trending: ``[num_items]`` ``log1p`` of engagements in the last day plus active hashtag trend strength.
        popular: ``[num_items]`` training interactions plus engagements in silver.events.
        pref: ``[users, num_categories]`` each person's share of engagements per item category.
        live: ``[num_items]`` whether the catalogue item is still in silver.posts: a post erased since the model
            was trained (its author's erasure) is in the model's catalogue but must never be listed again.
    """

    users: pa.Array
    seen: np.ndarray
    num_items: int
    now: int
    trending: np.ndarray
    popular: np.ndarray
    pref: np.ndarray
    live: np.ndarray

    def seen_pairs(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seen pairs of the given global user rows, as ``(position in rows, item)`` sorted by position.

        This is the ``seen_rows`` / ``seen_items`` pair that ``search_topk`` and ``fallback_topk`` take.
        """
        rows = np.asarray(rows, dtype=np.int64)
        users, items = self.seen // self.num_items, self.seen % self.num_items
        pos = np.full(int(users.max(initial=0)) + 1 if len(users) else 1, -1, dtype=np.int64)
        inside = rows < len(pos)
        pos[rows[inside]] = np.flatnonzero(inside)
        mine = pos[users] if len(users) else np.zeros(0, np.int64)
        keep = mine >= 0
        order = np.argsort(mine[keep], kind="stable")
        return mine[keep][order], items[keep][order]


def hashtag_strength(trends: pa.Table | None, *, now: int, days: float) -> dict[str, float]:
    """Summed strength per hashtag of the trends still active within ``days`` of ``now``.

    Args:
        trends: gold.hashtag_trends (``hashtag``, ``end_ts``, ``strength``), or None when it does not exist.
        now: Reference time (seconds).
        days: How far back a trend's end may lie.

    Returns:
        Hashtag -> strength (null strengths count 0); empty without the table.
    """
    if trends is None:
        return {}
    active = seconds(trends.column("end_ts")) >= now - int(days * DAY)
    out: dict[str, float] = {}
    tags = np.asarray(trends.column("hashtag").to_pylist(), dtype=object)[active]
    strengths = np.asarray(pc.fill_null(trends.column("strength"), 0.0).to_numpy(), dtype=np.float64)[active]
    for tag, strength in zip(tags, strengths, strict=True):
        out[str(tag)] = out.get(str(tag), 0.0) + float(strength)
    return out


EventBatches = Callable[[list[str]], Iterable["pa.RecordBatch | pa.Table"]]
"""A reader of silver.events: called with the columns it needs, it yields them batch by batch (it may be called
again for a second pass)."""

_EVENT_COLUMNS = ["user_id", "post_id", "event_type", "ts"]


def _batches(events: pa.Table | EventBatches, columns: list[str]) -> Iterator[pa.RecordBatch | pa.Table]:
    if isinstance(events, pa.Table):
        yield events.select(columns)
    else:
        yield from events(columns)


def _with_both_ids(batch: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
    """The rows naming both a person and a post (the others say nothing about who saw what)."""
    return batch.filter(pc.and_(pc.is_valid(batch.column("user_id")), pc.is_valid(batch.column("post_id"))))


def serving_signals(
    *,
    events: pa.Table | EventBatches,
    posts: pa.Table,
    users: pa.Table,
    items: pa.Table,
    item_counts: np.ndarray,
    trends: pa.Table | None,
    fresh_days: float,
) -> ServingSignals:
    """Seen pairs, trend and popularity scores and category tastes from silver.

    silver.events is streamed twice, batch by batch, never held whole: first the people and the latest time,
    then the pairs and counts (the driver holds the seen pairs, one int64 each, not the events).

    Args:
        events: silver.events (``user_id``, ``post_id``, ``event_type``, ``ts``), whole or as a batch reader; rows
            missing either id are ignored.
        posts: silver.posts (``post_id``, ``author_id``, ``hashtags``): authors never get their own posts.
        users: silver.users (``user_id``).
        items: The model's catalogue (``post_id``, ``item_category``), in item_idx order.
        item_counts: Training interactions per item.
        trends: gold.hashtag_trends, or None (see :func:`hashtag_strength`).
        fresh_days: How long a hashtag trend counts after its end.

    Returns:
        The :class:`ServingSignals`.
    """
    post_ids = items.column("post_id")
    n = len(post_ids)
    people, now = [users.column("user_id").combine_chunks()], 0
    for batch in _batches(events, ["user_id", "post_id", "ts"]):
        batch = _with_both_ids(batch)
        people.append(pc.unique(batch.column("user_id")))
        ts = seconds(batch.column("ts"))
        now = max(now, int(ts.max()) if len(ts) else 0)
    all_users = vocabulary(people)
    category = np.asarray(items.column("item_category").to_numpy(), dtype=np.int64)
    pref = np.zeros((len(all_users), int(category.max(initial=0)) + 1))
    trending, popular = np.zeros(n, dtype=np.float64), np.asarray(item_counts, dtype=np.float64).copy()
    seen_parts = []
    engagement = pa.array(list(ENGAGEMENT_TYPES), pa.string())
    for batch in _batches(events, _EVENT_COLUMNS):
        batch = _with_both_ids(batch)
        ev_user, ev_item = encode(batch.column("user_id"), all_users), encode(batch.column("post_id"), post_ids)
        ok = (ev_user >= 0) & (ev_item >= 0)
        seen_parts.append(np.unique(ev_user[ok] * n + ev_item[ok]))
        # In Arrow: a Python string per event (to_pylist) took ~60 bytes an event on the driver, 6 GB at 100M.
        is_engagement = pc.is_in(batch.column("event_type"), value_set=engagement)
        engaged = np.asarray(is_engagement.to_numpy(zero_copy_only=False), dtype=bool) & (ev_item >= 0)
        recent = engaged & (seconds(batch.column("ts")) >= now - DAY)
        trending += np.bincount(ev_item[recent], minlength=n)
        popular += np.bincount(ev_item[engaged], minlength=n)
        sel = engaged & (ev_user >= 0)
        np.add.at(pref, (ev_user[sel], category[ev_item[sel]]), 1.0)
    trending = np.log1p(trending)
    own_user = encode(posts.column("author_id"), all_users)
    own_item = encode(posts.column("post_id"), post_ids)
    ok = (own_user >= 0) & (own_item >= 0)
    seen = np.unique(np.concatenate([*seen_parts, own_user[ok] * n + own_item[ok]]))
    strength = hashtag_strength(trends, now=now, days=fresh_days)
    if strength:
        for item, tags in zip(own_item, posts.column("hashtags").to_pylist(), strict=True):
            if item >= 0 and tags:
                trending[item] += sum(strength.get(t, 0.0) for t in tags)
    pref /= np.maximum(pref.sum(axis=1, keepdims=True), 1.0)
    live = np.zeros(n, dtype=bool)
    live[own_item[own_item >= 0]] = True
    return ServingSignals(
        users=all_users, seen=seen, num_items=n, now=now, trending=trending, popular=popular, pref=pref, live=live
    )


def model_users(vocab: pa.Table, users: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The people the model serves: a training history (``positives > 0``) and still in silver.

    Args:
        vocab: The model's user vocabulary (``user_id``, ``positives``), in model row order.
        users: The global user order (:attr:`ServingSignals.users`).

    Returns:
        ``(rows in vocab, global user rows)``, aligned; people erased from silver since training are left out.
    """
    rows = np.flatnonzero(np.asarray(vocab.column("positives").to_numpy()) > 0)
    global_rows = encode(pc.take(vocab.column("user_id"), pa.array(rows)), users)
    present = global_rows >= 0
    return rows[present], global_rows[present]


def fallback_users(num_users: int, served: np.ndarray) -> np.ndarray:
    """Global rows of everyone the model does not serve, ascending."""
    return np.setdiff1d(np.arange(num_users), served)


def positives_before(examples: pa.Table, post_ids: pa.Array, *, at: int) -> tuple[np.ndarray, np.ndarray]:
    """``(item_idx, ts)`` of positive training examples of catalogue posts strictly before ``at``.

    Args:
        examples: gold.training_examples rows with ``post_id`` and ``ts`` (already the positives).
        post_ids: The catalogue, in item_idx order.
        at: Query time (seconds).
    """
    items, ts = encode(examples.column("post_id"), post_ids), seconds(examples.column("ts"))
    keep = (items >= 0) & (ts < at)
    return items[keep], ts[keep]


def uses_time_prior(model: TwoTower, created: np.ndarray | None) -> bool:
    """Whether serving adds a time prior: the model learned one and the catalogue has creation times."""
    return created is not None and model.time_prior is not None


def serving_prior(
    model: TwoTower,
    *,
    created: np.ndarray | None,
    positives: tuple[np.ndarray, np.ndarray] | None,
    at: int,
    num_items: int,
) -> np.ndarray:
    """The two-tower's time prior per catalogue item as of ``at``: ``temperature * prior``.

    Point in time, as in training and evaluation: each item's age and its positives before ``at``'s
    hour. Items created after ``at`` get ``-inf`` (the caller keeps them out of the index).

    Args:
        model: The serving model.
        created: Creation time per item_idx (seconds), or None when the catalogue has none.
        positives: ``(item_idx, ts)`` from :func:`positives_before`; only read when :func:`uses_time_prior`.
        at: Query time (seconds).
        num_items: Catalogue size.

    Returns:
        ``[num_items]`` float32 offsets; zeros when :func:`uses_time_prior` is false.
    """
    from socialflywheel.recsys.core.clock import ItemClock
    from socialflywheel.recsys.core.embed import AsOf

    if created is None or not uses_time_prior(model, created):
        return np.zeros(num_items, dtype=np.float32)
    if positives is None:
        raise ValueError("a model with a time prior needs the positives before the query time")
    bias = AsOf(at=at, clock=ItemClock(created, *positives)).bias(model)
    assert bias is not None  # a clock was given
    return bias

"""Ground-truth tables of a simulation (read only by tests and evaluations)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.simulate.encode import campaign_ids, event_id_strings, post_ids, user_ids
from socialflywheel.simulate.population import COUNTRIES, DEVICES
from socialflywheel.simulate.text import CATEGORIES, SENTIMENTS
from socialflywheel.simulate.world import World

_TS = pa.timestamp("us", tz="UTC")


def _ts(ms: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array((np.asarray(ms, dtype=np.int64) * 1000), pa.int64(), mask=mask).cast(_TS)


def truth_tables(world: World, task_rows: pa.Table) -> dict[str, pa.Table]:
    """Every truth.* table, from the planted world and what the tasks reported."""
    pop, g, c, k = world.pop, world.graph, world.content, world.cascades
    cats = np.asarray(CATEGORIES)
    n = pop.n
    users = pa.table(
        {
            "user_id": user_ids(np.arange(n)),
            "community": pa.array(pop.community.astype(np.int32)),
            "is_influencer": pa.array(pop.is_influencer),
            "is_bot": pa.array(pop.is_bot),
            "interests": _rows_as_lists(pop.interests),
            "country": pa.array(COUNTRIES[pop.country]),
            "device": pa.array(DEVICES[pop.device]),
        }
    )
    posts = pa.table(
        {
            "post_id": post_ids(np.arange(c.n)),
            "author_id": user_ids(c.author),
            "category": pa.array(cats[c.category]),
            "sentiment": pa.array(np.asarray(SENTIMENTS)[c.sentiment]),
            "created_at": _ts(c.created_ms),
        }
    )
    post_ev = pa.table(
        {
            "event_id": event_id_strings("ep", np.arange(c.n)),
            "post_id": posts["post_id"],
            "kind": pa.array(["post"] * c.n),
            "sentiment": posts["sentiment"],
        }
    )
    com = _of_kind(task_rows, "sentiment")
    comments = pa.table(
        {
            "event_id": com["s1"],
            "post_id": com["s2"],
            "kind": pa.repeat(pa.scalar("comment", pa.string()), com.num_rows),
            "sentiment": com["s3"],
        }
    )
    sentiment = pa.concat_tables([post_ev, comments]).sort_by("event_id")
    trends = pa.table(
        {
            "hashtag": pa.array(c.trend_tag, pa.string()),
            "start_ts": _ts(c.trend_start_ms),
            "end_ts": _ts(c.trend_end_ms),
            "strength": pa.array(c.trend_strength, pa.float64()),
        }
    )
    bad = _of_kind(task_rows, "corruption")
    corruptions = pa.table(
        {
            "source_file": bad["s1"],
            "line_no": bad["n1"],
            "kind": bad["s2"],
        }
    ).sort_by([("source_file", "ascending"), ("line_no", "ascending")])
    follows = pa.table(
        {
            "follower_id": user_ids(g.src),
            "followee_id": user_ids(g.dst),
            "followed_at": _ts(g.followed_ms),
            "unfollowed_at": _ts(np.maximum(g.unfollowed_ms, 0), mask=g.unfollowed_ms < 0),
            "by_bot": pa.array(g.by_bot),
        }
    )
    shares = np.flatnonzero(k.is_share)
    return {
        "truth.users": users,
        "truth.posts": posts,
        "truth.sentiment": sentiment,
        "truth.trends": trends,
        "truth.corruptions": corruptions,
        "truth.follows": follows,
        "truth.campaigns": _campaigns(world, _of_kind(task_rows, "campaign").to_pydict()),
        "truth.shares": pa.table(
            {
                "event_id": event_id_strings("es", 2 * shares + 1),
                "post_id": post_ids(k.post[shares]),
                "user_id": user_ids(k.user[shares]),
                "parent_user_id": user_ids(k.parent[shares]),
                "depth": pa.array(k.depth[shares].astype(np.int32)),
                "ts": _ts(k.ts_ms[shares]),
            }
        ),
    }


def _rows_as_lists(matrix: np.ndarray) -> pa.ListArray:
    """A 2-D float array as a ``list<double>`` array, one list per row (no Python objects per row)."""
    n, width = matrix.shape
    offsets = pa.array(np.arange(0, (n + 1) * width, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(np.ascontiguousarray(matrix, dtype=np.float64).ravel()))


def _of_kind(task_rows: pa.Table, kind: str) -> pa.Table:
    """The task rows of one kind, text columns as ``string`` (engines may hand back ``large_string``)."""
    rows = task_rows.filter(pc.equal(task_rows["kind"], kind))
    return rows.cast(
        pa.schema([(f.name, pa.string() if f.name[0] == "s" or f.name == "kind" else f.type) for f in rows.schema])
    )


def _campaigns(world: World, rows: dict[str, list[Any]]) -> pa.Table:
    c = world.content
    n_c = len(c.camp_ctr)
    counts = {"ad_impression": np.zeros(n_c, np.int64), "ad_click": np.zeros(n_c, np.int64)}
    for i, kind in enumerate(rows["kind"]):
        if kind == "campaign":
            counts[rows["s2"][i]][int(rows["n2"][i])] += int(rows["n1"][i])
    return pa.table(
        {
            "campaign_id": campaign_ids(np.arange(n_c)),
            "category": pa.array(np.asarray(CATEGORIES)[c.camp_category], pa.string()),
            "base_ctr": pa.array(c.camp_ctr, pa.float64()),
            "start_ts": _ts(c.camp_start_ms),
            "end_ts": _ts(c.camp_end_ms),
            "impressions": pa.array(counts["ad_impression"]),
            "clicks": pa.array(counts["ad_click"]),
        }
    )

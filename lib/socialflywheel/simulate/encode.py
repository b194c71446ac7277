"""Events -> JSON lines and Arrow tables, built column-wise with Arrow compute (no per-event json.dumps)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from socialflywheel.simulate.activity import (
    ETYPES,
    ID_LOCAL,
    TEXT_BANK,
    TEXT_POST,
    TEXT_QUERY,
    Events,
    query_vocab,
)
from socialflywheel.simulate.population import COUNTRIES, DEVICES
from socialflywheel.simulate.text import CATEGORIES
from socialflywheel.simulate.world import World

_ID_PREFIX = np.array(["e", "ef", "eu", "ep", "es"])


def _pad(values: np.ndarray, prefix: str, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(values, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _opt(mask: np.ndarray, *pieces: pa.Array | str) -> pa.Array:
    """A piece of the line present only where ``mask`` is set (null elsewhere, joined as empty)."""
    joined = pc.binary_join_element_wise(*pieces, "")
    return pc.if_else(pa.array(mask), joined, pa.scalar(None, pa.string()))


def user_ids(n: np.ndarray) -> pa.Array:
    """Raw user ids: ``u`` and six digits (more when needed)."""
    return _pad(n, "u", 6)


def post_ids(n: np.ndarray) -> pa.Array:
    """Post ids: ``p`` and seven digits."""
    return _pad(n, "p", 7)


def campaign_ids(n: np.ndarray) -> pa.Array:
    """Campaign ids: ``c`` and three digits."""
    return _pad(n, "c", 3)


def event_ids(ev: Events) -> pa.Array:
    """Globally unique event ids: a family prefix and a number."""
    prefix = pa.array(_ID_PREFIX[ev.id_family])
    return pc.binary_join_element_wise(
        prefix, pc.utf8_lpad(pc.cast(pa.array(ev.id_num), pa.string()), width=9, padding="0"), ""
    )


def _arrays(world: World) -> dict[str, pa.Array]:
    """Arrow copies of the world's text columns, built once per process."""
    if "text" not in world.cache:
        c = world.content
        world.cache.update(
            text=pa.array(c.text_json, pa.string()),
            bank=pa.array(c.bank_json, pa.string()),
            query=pa.array(['"' + q + '"' for q in query_vocab(world)], pa.string()),
            tags=pa.array(c.tags_json, pa.string()),
            category=pa.array(np.asarray(CATEGORIES)[c.category]),
        )
    return world.cache


def text_literals(world: World, ev: Events) -> pa.Array:
    """The text of each event as a JSON string literal (null when the event has no text)."""
    arrays = _arrays(world)
    n = len(ev.ts)
    idx = np.where(ev.text_src > 0, ev.text_idx, 0)
    post_txt = arrays["text"].take(pa.array(np.where(ev.text_src == TEXT_POST, idx, 0)))
    bank_txt = arrays["bank"].take(pa.array(np.where(ev.text_src == TEXT_BANK, idx, 0)))
    queries = arrays["query"]
    query_txt = queries.take(pa.array(np.where(ev.text_src == TEXT_QUERY, idx, 0)))
    out = pc.if_else(pa.array(ev.text_src == TEXT_POST), post_txt, bank_txt)
    out = pc.if_else(pa.array(ev.text_src == TEXT_QUERY), query_txt, out)
    return pc.if_else(pa.array(ev.text_src > 0), out, pa.nulls(n, pa.string()))


def json_lines(world: World, ev: Events) -> pa.Array:
    """One JSON object per event, in the contract's field order, as a string array (no newlines)."""
    pop = world.pop
    n = len(ev.ts)
    ts = pc.strftime(pa.array(ev.ts.astype("datetime64[ms]")), format="%Y-%m-%dT%H:%M:%SZ")
    etype = pa.array(np.asarray(ETYPES)[ev.etype])
    has_post, has_target = ev.post >= 0, ev.target >= 0
    is_post = ev.etype == 0
    safe_post = np.where(has_post, ev.post, 0)
    pieces: list[pa.Array | str] = [
        '{"event_id":"',
        event_ids(ev),
        '","event_type":"',
        etype,
        '","user_id":"',
        user_ids(ev.user),
        '"',
        _opt(has_post, ',"post_id":"', post_ids(safe_post), '"'),
        _opt(has_target, ',"target_user_id":"', user_ids(np.where(has_target, ev.target, 0)), '"'),
        ',"ts":"',
        ts,
        '"',
        _opt(ev.dwell >= 0, ',"dwell_ms":', pc.cast(pa.array(np.maximum(ev.dwell, 0)), pa.string())),
        _opt(ev.text_src > 0, ',"text":', pc.fill_null(text_literals(world, ev), '""')),
        _opt(is_post, ',"hashtags":', _arrays(world)["tags"].take(pa.array(safe_post))),
        ',"country":"',
        pa.array(COUNTRIES[pop.country[ev.user]]),
        '","device":"',
        pa.array(DEVICES[pop.device[ev.user]]),
        '"',
        _opt(ev.campaign >= 0, ',"campaign_id":"', campaign_ids(np.maximum(ev.campaign, 0)), '"'),
        _opt(is_post, ',"category":"', _arrays(world)["category"].take(pa.array(safe_post)), '"'),
        "}",
    ]
    del n
    return pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement="")


def arrow_events(world: World, ev: Events) -> pa.Table:
    """The same events as a typed table (the Parquet landing format), contract columns plus category."""
    c, pop = world.content, world.pop
    n = len(ev.ts)
    has_post, is_post = ev.post >= 0, ev.etype == 0
    safe_post = np.where(has_post, ev.post, 0)
    text = text_literals(world, ev)
    import json

    decoded = [None if t is None else json.loads(t) for t in text.to_pylist()]
    none = pa.nulls(n, pa.string())
    tags = pa.array([c.tags[p] if f else None for p, f in zip(safe_post, is_post, strict=True)], pa.list_(pa.string()))
    return pa.table(
        {
            "event_id": event_ids(ev),
            "event_type": pa.array(np.asarray(ETYPES)[ev.etype]),
            "user_id": user_ids(ev.user),
            "post_id": pc.if_else(pa.array(has_post), post_ids(safe_post), none),
            "target_user_id": pc.if_else(pa.array(ev.target >= 0), user_ids(np.maximum(ev.target, 0)), none),
            "ts": pa.array(ev.ts.astype("datetime64[ms]")).cast(pa.timestamp("ms", tz="UTC")),
            "dwell_ms": pa.array(np.where(ev.dwell >= 0, ev.dwell, 0), mask=ev.dwell < 0),
            "text": pa.array(decoded, pa.string()),
            "hashtags": tags,
            "country": pa.array(COUNTRIES[pop.country[ev.user]]),
            "device": pa.array(DEVICES[pop.device[ev.user]]),
            "campaign_id": pc.if_else(pa.array(ev.campaign >= 0), campaign_ids(np.maximum(ev.campaign, 0)), none),
            "category": pc.if_else(pa.array(is_post), pa.array(np.asarray(CATEGORIES)[c.category[safe_post]]), none),
        }
    )


__all__ = ["ID_LOCAL", "arrow_events", "event_ids", "json_lines", "post_ids", "user_ids"]

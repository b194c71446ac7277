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
from socialflywheel.simulate.isotime import iso_timestamps
from socialflywheel.simulate.population import COUNTRIES, DEVICES
from socialflywheel.simulate.text import CATEGORIES
from socialflywheel.simulate.world import World

_ID_PREFIX = np.array(["e", "ef", "eu", "ep", "es"])


def _pad(values: np.ndarray, prefix: str, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(values, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def user_ids(n: np.ndarray) -> pa.Array:
    """Raw user ids: ``u`` and six digits (more when needed)."""
    return _pad(n, "u", 6)


def post_ids(n: np.ndarray) -> pa.Array:
    """Post ids: ``p`` and seven digits."""
    return _pad(n, "p", 7)


def campaign_ids(n: np.ndarray) -> pa.Array:
    """Campaign ids: ``c`` and three digits."""
    return _pad(n, "c", 3)


def event_id_strings(prefix: str, numbers: np.ndarray) -> pa.Array:
    """Event ids of one family: ``prefix`` and the number, nine digits at least."""
    return _pad(numbers, prefix, 9)


def event_ids(ev: Events) -> pa.Array:
    """Globally unique event ids: a family prefix and a number."""
    prefix = pa.array(_ID_PREFIX[ev.id_family])
    return pc.binary_join_element_wise(
        prefix, pc.utf8_lpad(pc.cast(pa.array(ev.id_num), pa.string()), width=9, padding="0"), ""
    )


def _arrays(world: World) -> dict[str, pa.Array]:
    """Arrow copies of the world's text columns, built once per process (the Parquet landing's)."""

    def build() -> dict[str, pa.Array]:
        c = world.content
        return {
            "text": c.text_json,
            "bank": pa.array(c.bank_json, pa.string()),
            "query": pa.array(['"' + q + '"' for q in query_vocab(world)], pa.string()),
            "tags": c.tags_json,
            "category": pa.array(np.asarray(CATEGORIES)[c.category]),
        }

    arrays: dict[str, pa.Array] = world.cached("arrays", build)
    return arrays


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


def _pieces(world: World) -> tuple[dict[str, pa.Array], np.ndarray]:
    """Per-user, per-post and per-campaign pieces of a line, keys and quotes included, built once per process.

    A line is then a few ``take``s of these (null where the field is absent) joined in one call. Also
    returns where each text source starts in ``text`` (post texts, then bank sentences, then queries).
    """
    pieces: tuple[dict[str, pa.Array], np.ndarray] = world.cached("pieces", lambda: _build_pieces(world))
    return pieces


def _build_pieces(world: World) -> tuple[dict[str, pa.Array], np.ndarray]:
    c, pop = world.content, world.pop
    n_c = len(c.camp_ctr)
    campaign = pc.binary_join_element_wise(',"campaign_id":"', campaign_ids(np.arange(n_c)), '"', "")
    geo = pc.binary_join_element_wise(
        pa.array([',"country":"' + k + '","device":"' for k in COUNTRIES.tolist()]).take(pa.array(pop.country)),
        pa.array([d + '"' for d in DEVICES.tolist()]).take(pa.array(pop.device)),
        "",
    )
    # A post event's text and hashtags are its post's, and so is everything after the device: its author's
    # country and device, its campaign and its category. Those parts are one piece per post.
    post_text = pc.binary_join_element_wise(',"text":', c.text_json, ',"hashtags":', c.tags_json, "")
    sponsored = c.campaign >= 0
    post_tail = pc.binary_join_element_wise(
        geo.take(pa.array(c.author)),
        campaign.take(pa.array(np.where(sponsored, c.campaign, 0), mask=~sponsored)),
        pa.array([',"category":"' + k + '"' for k in CATEGORIES]).take(pa.array(c.category)),
        "",
        null_handling="replace",
        null_replacement="",
    )
    other_text = pa.concat_arrays(
        [pa.array(c.bank_json, pa.string()), pa.array(['"' + q + '"' for q in query_vocab(world)], pa.string())]
    )
    pieces = {
        "id_prefix": pa.array(['{"event_id":"' + p for p in _ID_PREFIX]),
        "etype": pa.array(['","event_type":"' + t + '","user_id":"' for t in ETYPES]),
        "user": pc.binary_join_element_wise(user_ids(np.arange(pop.n)), '"', ""),
        "post": pc.binary_join_element_wise(',"post_id":"', post_ids(np.arange(c.n)), '"', ""),
        "target": pc.binary_join_element_wise(',"target_user_id":"', user_ids(np.arange(pop.n)), '"', ""),
        # post texts (with hashtags), then bank sentences, then search queries
        "text": pa.concat_arrays([post_text, pc.binary_join_element_wise(',"text":', other_text, "")]),
        # every user's country and device, then every post's tail
        "tail": pa.concat_arrays([geo, post_tail]),
        "campaign": campaign,
    }
    text_base = np.array([0, 0, c.n, c.n + len(c.bank_json)], dtype=np.int64)  # by text source code
    return pieces, text_base


def _take(values: pa.Array, idx: np.ndarray, present: np.ndarray | None = None) -> pa.Array:
    """``values[idx]``, null where ``present`` is false."""
    if present is None:
        return values.take(pa.array(idx))
    return values.take(pa.array(np.where(present, idx, 0), mask=~present))


def json_lines(world: World, ev: Events) -> pa.Array:
    """One JSON object per event, in the contract's field order, as a string array (no newlines)."""
    pieces, text_base = _pieces(world)
    has_post, is_post = ev.post >= 0, ev.etype == 0
    has_text = ev.text_src > 0
    _check_posts(world, ev, is_post)
    dwell = pa.array(ev.dwell, mask=ev.dwell < 0).cast(pa.string())
    text_idx = text_base[ev.text_src] + np.where(has_text, ev.text_idx, 0)
    ad = (ev.campaign >= 0) & ~is_post  # a post's campaign is in its tail
    return pc.binary_join_element_wise(
        _take(pieces["id_prefix"], ev.id_family),
        pc.utf8_lpad(pc.cast(pa.array(ev.id_num), pa.string()), width=9, padding="0"),
        _take(pieces["etype"], ev.etype),
        _take(pieces["user"], ev.user),
        _take(pieces["post"], ev.post, has_post),
        _take(pieces["target"], ev.target, ev.target >= 0),
        iso_timestamps(ev.ts, prefix=',"ts":"', suffix='"'),
        pc.binary_join_element_wise(',"dwell_ms":', dwell, ""),
        _take(pieces["text"], text_idx, has_text),
        _take(pieces["tail"], np.where(is_post, world.pop.n + ev.post, ev.user)),
        _take(pieces["campaign"], ev.campaign, ad),
        "}",
        "",
        null_handling="replace",
        null_replacement="",
    )


def _check_posts(world: World, ev: Events, is_post: np.ndarray) -> None:
    """Post events carry their own post's text, author and campaign, as the per-post pieces assume."""
    c, post = world.content, ev.post[is_post]
    if not (
        np.array_equal(ev.text_src == TEXT_POST, is_post)
        and np.array_equal(ev.text_idx[is_post], post)
        and np.array_equal(ev.user[is_post], c.author[post])
        and np.array_equal(ev.campaign[is_post], c.campaign[post])
    ):
        raise ValueError("a post event differs from its post (text, author or campaign)")


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
    tags = c.tags.take(pa.array(safe_post, mask=~is_post))
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

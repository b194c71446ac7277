"""One chunk's events, generated vectorized: follows, posts, sessions of views and their actions, ads."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socialflywheel.lake.catalog import EVENT_TYPES
from socialflywheel.simulate.content import SENTIMENT_P
from socialflywheel.simulate.sets import lexsort, sorted_member
from socialflywheel.simulate.text import CATEGORIES, SEARCH_WORDS
from socialflywheel.simulate.timeline import MS_PER_DAY, stream
from socialflywheel.simulate.world import VIEWS_PER_SESSION, World

ETYPES = EVENT_TYPES  # the contract's event types; a code is an index into this tuple
T = {name: i for i, name in enumerate(ETYPES)}
# Text sources: none, the post's own text, a bank sentence (comments), a search query.
TEXT_NONE, TEXT_POST, TEXT_BANK, TEXT_QUERY = 0, 1, 2, 3
# Event id families: chunk-local sequence, follow, unfollow, post, cascade.
ID_LOCAL, ID_FOLLOW, ID_UNFOLLOW, ID_POST, ID_CASCADE = 0, 1, 2, 3, 4
_BIG = np.int64(1) << 42


@dataclass
class Events:
    """Columns of a chunk's events (user and post numbers, -1 for absent)."""

    etype: np.ndarray
    user: np.ndarray
    post: np.ndarray
    target: np.ndarray
    ts: np.ndarray
    dwell: np.ndarray
    campaign: np.ndarray
    text_src: np.ndarray
    text_idx: np.ndarray
    id_family: np.ndarray
    id_num: np.ndarray


def _ev(n: int, etype: int, user: np.ndarray, ts: np.ndarray, **cols: np.ndarray) -> dict[str, np.ndarray]:
    neg = np.full(n, -1, dtype=np.int64)
    out: dict[str, np.ndarray] = {
        "etype": np.full(n, etype, np.int8),
        "user": user.astype(np.int64),
        "ts": ts.astype(np.int64),
    }
    for name in ("post", "target", "dwell", "campaign", "text_idx", "id_num"):
        out[name] = cols.get(name, neg).astype(np.int64)
    out["text_src"] = cols.get("text_src", np.zeros(n, np.int64)).astype(np.int8)
    out["id_family"] = cols.get("id_family", np.zeros(n, np.int64)).astype(np.int8)
    return out


def query_vocab(world: World) -> list[str]:
    """Search queries: every trend tag, then every category x search word."""
    cats = CATEGORIES[: world.cfg.topics]
    return [*world.content.trend_tag, *(f"{c} {w}" for c in cats for w in SEARCH_WORDS)]


def _index(world: World) -> dict[str, np.ndarray]:
    """Lookup structures over the planted world every chunk uses, built once per process (not per chunk)."""
    index: dict[str, np.ndarray] = world.cached("index", lambda: _build_index(world))
    return index


def _build_index(world: World) -> dict[str, np.ndarray]:
    c, g, pop = world.content, world.graph, world.pop
    topics = world.cfg.topics
    order = np.lexsort((c.created_ms, c.category))
    deg = np.bincount(g.src, minlength=pop.n)
    a_order = np.lexsort((c.created_ms, c.author))
    return {
        # Per-user cumulative topic weights, topic-major: a row gather per topic is cheap and O(views).
        "explore_cum": np.ascontiguousarray(np.cumsum(0.9 * pop.interests + 0.1 / topics, axis=1).T),
        "interest_cum": np.ascontiguousarray(np.cumsum(pop.interests, axis=1).T),
        "cat_order": order,
        "cat_key": c.category[order].astype(np.int64) * _BIG + c.created_ms[order],
        "cat_popcum": np.cumsum(c.popularity[order]),
        "out_deg": deg,
        "out_ptr": np.concatenate([[0], np.cumsum(deg)]),
        "by_src": np.argsort(g.src, kind="stable"),
        "author_order": a_order,
        "author_key": c.author[a_order].astype(np.int64) * _BIG + c.created_ms[a_order],
    }


def _search(sorted_values: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """``np.searchsorted(sorted_values, needles, side="right")``, ~4x faster on large random needles.

    The needles are searched in sorted order (NumPy narrows each search from the previous one and the
    walk stays in cache), then put back in place; every result is the same as the plain call's.
    """
    order = np.argsort(needles)
    found = np.empty(len(needles), dtype=np.int64)
    found[order] = np.searchsorted(sorted_values, needles[order], side="right")
    return found


def _draw_topic(cum_by_topic: np.ndarray, user: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Per user, how many of its cumulative topic weights lie below ``u`` (an inverse-CDF draw), capped."""
    topics = cum_by_topic.shape[0]
    count = np.zeros(len(user), dtype=np.int64)
    for k in range(topics):
        count += cum_by_topic[k][user] < u
    capped: np.ndarray = np.minimum(count, topics - 1)
    return capped


def _pick_posts(
    world: World, rng: np.random.Generator, user: np.ndarray, ts: np.ndarray, human: np.ndarray
) -> np.ndarray:
    """A post for each view: a followee's recent post, or interest x popularity x recency by category."""
    c, g = world.content, world.graph
    topics = world.cfg.topics
    ix = _index(world)
    post = np.full(len(user), -1, dtype=np.int64)
    # Category path: interest (with some exploration), then recency (age ~ Exp(1 day)), then popularity.
    cat = _draw_topic(ix["explore_cum"], user, rng.random(len(user)))
    cat = np.where(human, cat, rng.integers(0, topics, len(user)))
    order, key, cpop = ix["cat_order"], ix["cat_key"], ix["cat_popcum"]
    lo_cat = np.searchsorted(key, np.arange(topics, dtype=np.int64) * _BIG)
    age = rng.exponential(MS_PER_DAY, size=len(user)).astype(np.int64)
    hi = _search(key, cat * _BIG + ts - age)
    older = np.flatnonzero(hi <= lo_cat[cat])  # nothing that old in the category: its latest post before the view
    hi[older] = _search(key, cat[older] * _BIG + ts[older] - 1)
    ok = hi > lo_cat[cat]
    lo = np.maximum(lo_cat[cat], hi - 300)
    base = np.where(lo > 0, cpop[np.maximum(lo - 1, 0)], 0.0)
    r = base + rng.random(len(user)) * (cpop[np.maximum(hi - 1, 0)] - base)
    pick = np.clip(_search(cpop, r), lo, np.maximum(hi - 1, lo))
    post[ok] = order[pick[ok]]
    # Feed path: a followee's latest posts before the view.
    deg, ptr, by_src = ix["out_deg"], ix["out_ptr"], ix["by_src"]
    feed = human & (deg[user] > 0) & (rng.random(len(user)) < 0.4)
    f_idx = np.flatnonzero(feed)
    edge = by_src[ptr[user[f_idx]] + (rng.random(len(f_idx)) * deg[user[f_idx]]).astype(np.int64)]
    author = g.dst[edge].astype(np.int64)
    a_order, a_key = ix["author_order"], ix["author_key"]
    j = _search(a_key, author * _BIG + ts[f_idx] - 1) - 1 - rng.geometric(0.6, len(f_idx)) + 1
    good = (j >= 0) & (c.author[a_order[np.maximum(j, 0)]] == author) & (g.followed_ms[edge] < ts[f_idx])
    post[f_idx[good]] = a_order[j[good]]
    return post


def sessions(world: World, chunk: int, n_chunks: int) -> list[dict[str, np.ndarray]]:
    """Sessions of the chunk's users: views with dwell, then likes, comments, shares, clicks, searches, ads."""
    cfg, pop, c = world.cfg, world.pop, world.content
    rng = stream(cfg.seed, 100, chunk)
    users = np.arange(chunk, pop.n, n_chunks)
    lam = world.sessions_total * pop.activity[users] / pop.activity.sum()
    n_sess = rng.poisson(lam)
    s_user = np.repeat(users, n_sess)
    s_bot = pop.is_bot[s_user]
    start = world.period.sample(rng, len(s_user))
    if s_bot.any():  # bots act in short bursts around a few times of their own
        # The same for every chunk (its own stream): drawn once per process.
        centers = world.cached(
            "bot_centers", lambda: world.period.sample(stream(cfg.seed, 5), pop.n * 3).reshape(pop.n, 3)
        )
        pick = centers[s_user[s_bot], rng.integers(0, 3, int(s_bot.sum()))]
        start[s_bot] = np.minimum(pick + rng.integers(0, 1_800_000, int(s_bot.sum())), world.period.end_ms - 600_000)
    n_views = rng.geometric(np.where(s_bot, 1 / 20, 1 / VIEWS_PER_SESSION))
    v_sess = np.repeat(np.arange(len(s_user)), n_views)
    v_user, v_bot = s_user[v_sess], s_bot[v_sess]
    dwell = np.where(
        v_bot, rng.lognormal(np.log(700), 0.35, len(v_sess)), rng.lognormal(np.log(5000), 0.9, len(v_sess))
    )
    gap = dwell + rng.exponential(np.where(v_bot, 800, 4000))
    cs = np.cumsum(gap)
    first = np.cumsum(n_views) - n_views
    v_ts = start[v_sess] + (cs - gap - (cs - gap)[first][v_sess]).astype(np.int64)
    v_post = _pick_posts(world, rng, v_user, v_ts, ~v_bot)
    ok = (v_post >= 0) & (v_ts < world.period.end_ms)
    v_user, v_bot, v_ts, v_post, dwell = v_user[ok], v_bot[ok], v_ts[ok], v_post[ok], dwell[ok]
    aff = np.clip(pop.interests[v_user, c.category[v_post]] * cfg.topics, 0.0, 4.0)
    qual = np.sqrt(np.clip(c.popularity[v_post] / c.popularity.mean(), 0.2, 4.0))
    dwell = np.where(v_bot, dwell, dwell * (0.4 + 0.5 * aff)).astype(np.int64)
    out = [_ev(len(v_user), T["view"], v_user, v_ts, post=v_post, dwell=dwell)]
    probs = {
        "like": np.where(v_bot, 0.5, np.clip(0.05 * aff * qual, 0, 0.6)),
        "comment": np.where(v_bot, 0.002, np.clip(0.012 * aff, 0, 0.1)),
        "share": np.where(v_bot, 0.0, np.clip(0.007 * aff * qual, 0, 0.1)),
        "click": np.where(v_bot, 0.01, np.clip(0.025 * aff, 0, 0.2)),
    }
    for name, p in probs.items():
        hit = np.flatnonzero(rng.random(len(v_user)) < p)
        ts = v_ts[hit] + (dwell[hit] * rng.uniform(0.3, 1.0, len(hit))).astype(np.int64) + 1
        cols: dict[str, np.ndarray] = {"post": v_post[hit]}
        if name == "comment":
            same = rng.random(len(hit)) < 0.6
            sent = np.where(same, c.sentiment[v_post[hit]], rng.choice(3, size=len(hit), p=SENTIMENT_P))
            by_class = [np.flatnonzero(c.bank_sentiment == k) for k in range(3)]
            draw = rng.integers(0, 1 << 30, len(hit))
            idx = np.zeros(len(hit), dtype=np.int64)
            for k in range(3):
                idx[sent == k] = by_class[k][draw[sent == k] % len(by_class[k])]
            cols.update(text_src=np.full(len(hit), TEXT_BANK), text_idx=idx)
        out.append(_ev(len(hit), T[name], v_user[hit], ts, **cols))
    out.append(_searches(world, rng, s_user, s_bot, start))
    out.extend(_ads(world, rng, v_user[~v_bot], v_ts[~v_bot]))
    return out


def _searches(
    world: World, rng: np.random.Generator, s_user: np.ndarray, s_bot: np.ndarray, start: np.ndarray
) -> dict[str, np.ndarray]:
    c, n_tr = world.content, len(world.content.trend_tag)
    hit = np.flatnonzero(rng.random(len(s_user)) < np.where(s_bot, 0.02, 0.35))
    ts = start[hit] + rng.integers(1000, 120_000, len(hit))
    cat = _draw_topic(_index(world)["interest_cum"], s_user[hit], rng.random(len(hit)))
    q = n_tr + cat * len(SEARCH_WORDS) + rng.integers(0, len(SEARCH_WORDS), len(hit))
    for k in range(n_tr):  # searches for a tag jump while it trends
        live = (ts >= c.trend_start_ms[k]) & (ts < c.trend_end_ms[k]) & (rng.random(len(hit)) < 0.4)
        q = np.where(live, k, q)
    return _ev(len(hit), T["search"], s_user[hit], ts, text_src=np.full(len(hit), TEXT_QUERY), text_idx=q)


def _ads(world: World, rng: np.random.Generator, user: np.ndarray, ts: np.ndarray) -> list[dict[str, np.ndarray]]:
    c = world.content
    n_c = len(c.camp_ctr)
    if n_c == 0:
        return []
    hit = np.flatnonzero(rng.random(len(user)) < 0.05)
    u, t = user[hit], ts[hit] + 500
    w = ((c.camp_start_ms[None, :] <= t[:, None]) & (t[:, None] < c.camp_end_ms[None, :])) * c.camp_budget[None, :]
    total = w.sum(axis=1)
    keep = total > 0
    u, t, w, total = u[keep], t[keep], w[keep], total[keep]
    camp = np.minimum((np.cumsum(w, axis=1) < (rng.random(len(u)) * total)[:, None]).sum(axis=1), n_c - 1)
    sponsored = [np.flatnonzero(c.campaign == k) for k in range(n_c)]
    post = np.array([sponsored[k][0] if len(sponsored[k]) else -1 for k in range(n_c)], dtype=np.int64)[camp]
    aff = np.clip(world.pop.interests[u, c.camp_category[camp]] * world.cfg.topics, 0.0, 4.0)
    click = rng.random(len(u)) < c.camp_ctr[camp] * (0.3 + 0.7 * aff)
    dt = rng.integers(1500, 20_000, int(click.sum()))
    return [
        _ev(len(u), T["ad_impression"], u, t, post=post, campaign=camp),
        _ev(int(click.sum()), T["ad_click"], u[click], t[click] + dt, post=post[click], campaign=camp[click]),
    ]


def planted(world: World, chunk: int, n_chunks: int) -> list[dict[str, np.ndarray]]:
    """Follows, unfollows, posts and cascade views/shares of the chunk's users (global ids)."""
    g, c, k = world.graph, world.content, world.cascades
    mine = np.flatnonzero(g.src % n_chunks == chunk)
    unf = mine[g.unfollowed_ms[mine] >= 0]
    posts = np.flatnonzero(c.author % n_chunks == chunk)
    casc = np.flatnonzero(k.user % n_chunks == chunk)
    shares = casc[k.is_share[casc]]
    rng = stream(world.cfg.seed, 200, chunk)
    dwell = rng.lognormal(np.log(6000), 0.8, len(casc)).astype(np.int64)
    fam = np.full
    return [
        _ev(
            len(mine),
            T["follow"],
            g.src[mine],
            g.followed_ms[mine],
            target=g.dst[mine],
            id_family=fam(len(mine), ID_FOLLOW),
            id_num=mine,
        ),
        _ev(
            len(unf),
            T["unfollow"],
            g.src[unf],
            g.unfollowed_ms[unf],
            target=g.dst[unf],
            id_family=fam(len(unf), ID_UNFOLLOW),
            id_num=unf,
        ),
        _ev(
            len(posts),
            T["post"],
            c.author[posts],
            c.created_ms[posts],
            post=posts,
            campaign=c.campaign[posts],
            text_src=fam(len(posts), TEXT_POST),
            text_idx=posts,
            id_family=fam(len(posts), ID_POST),
            id_num=posts,
        ),
        _ev(
            len(casc),
            T["view"],
            k.user[casc],
            k.ts_ms[casc],
            post=k.post[casc],
            dwell=dwell,
            id_family=fam(len(casc), ID_CASCADE),
            id_num=2 * casc,
        ),
        _ev(
            len(shares),
            T["share"],
            k.user[shares],
            k.ts_ms[shares] + dwell[sorted_member(casc, shares)] + 1,
            post=k.post[shares],
            id_family=fam(len(shares), ID_CASCADE),
            id_num=2 * shares + 1,
        ),
    ]


def _time_order(ts: np.ndarray, user: np.ndarray, etype: np.ndarray, id_num: np.ndarray) -> np.ndarray:
    """``np.lexsort((id_num, etype, user, ts))``: by time, then user, event type and id (times rarely tie)."""
    return lexsort((id_num, etype, user, ts))


def chunk_events(world: World, chunk: int, n_chunks: int) -> Events:
    """All events of one chunk, sorted by time; chunk-local events numbered in that order."""
    parts = planted(world, chunk, n_chunks) + sessions(world, chunk, n_chunks)
    cols = {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    order = _time_order(cols["ts"], cols["user"], cols["etype"], cols["id_num"])
    cols = {name: v[order] for name, v in cols.items()}
    local = cols["id_family"] == ID_LOCAL
    cols["id_num"][local] = chunk * 10_000_000_000 + np.arange(int(local.sum()))
    return Events(**cols)

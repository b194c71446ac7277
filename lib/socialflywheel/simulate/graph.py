"""The planted follow graph: stochastic blocks, preferential attachment, influencers, bot rings, unfollows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socialflywheel.config.simulate import SimulateConfig
from socialflywheel.simulate.population import Population
from socialflywheel.simulate.sets import lexsort, sorted_member, unique
from socialflywheel.simulate.timeline import MS_PER_DAY, Period, stream

_PA_ROUNDS = 6
_NO_UNFOLLOW = -1


@dataclass
class FollowGraph:
    """Every planted follow edge, with when it was made and (if so) unfollowed."""

    src: np.ndarray  # int32 follower
    dst: np.ndarray  # int32 followee
    followed_ms: np.ndarray  # int64
    unfollowed_ms: np.ndarray  # int64, -1 when the edge is still current
    by_bot: np.ndarray  # bool: made by a bot ring

    @property
    def current(self) -> np.ndarray:
        """Mask of the edges not unfollowed."""
        return self.unfollowed_ms < 0

    def in_degree(self, n: int) -> np.ndarray:
        """Current in-degree of every user."""
        return np.bincount(self.dst[self.current], minlength=n)


def _sample_in(rng: np.random.Generator, members: np.ndarray, weight: np.ndarray, k: int) -> np.ndarray:
    cum = np.cumsum(weight[members])
    picked: np.ndarray = members[
        np.minimum(np.searchsorted(cum, rng.random(k) * cum[-1], side="right"), len(members) - 1)
    ]
    return picked


def _close_triangles(src: np.ndarray, have: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """For each ``src``, a followee's followee (uniform at each hop); ``src`` itself where there is none."""
    if not len(have) or not len(src):
        return src.copy()
    f_src, f_dst = have // n, have % n  # ``have`` is sorted, so this is a CSR by source
    offsets = np.searchsorted(f_src, np.arange(n + 1))
    out = src.astype(np.int64).copy()
    mid = src.astype(np.int64).copy()
    for hop in range(2):
        at = mid if hop else src
        deg = offsets[at + 1] - offsets[at]
        ok = deg > 0
        pick = offsets[at[ok]] + (rng.random(int(ok.sum())) * deg[ok]).astype(np.int64)
        nxt = at.astype(np.int64).copy()
        nxt[ok] = f_dst[pick]
        if hop:
            out = np.where(ok, nxt, src)
        else:
            mid = np.where(ok, nxt, src)
    return out


def _organic_edges(
    cfg: SimulateConfig, pop: Population, rng: np.random.Generator, mean_out: float
) -> tuple[np.ndarray, np.ndarray]:
    """Human follows in growth rounds; returns the edge keys and the round each was made in.

    Blocks by community, targets by fitness x (in-degree + 1), and from the second round on a share
    closing triangles.
    """
    n, c = pop.n, cfg.communities
    humans = np.flatnonzero(~pop.is_bot)
    out_deg = np.maximum(1, np.round(rng.lognormal(np.log(mean_out) - 0.32, 0.8, size=len(humans)))).astype(np.int64)
    # Heavy-tailed fitness; each community's influencers sit clearly above its fittest member.
    fitness = rng.pareto(2.0, size=n) + 1.0
    fitness[pop.is_bot] = 0.05
    for k in range(c):
        members = pop.community == k
        infl = members & pop.is_influencer
        if infl.any():
            top = fitness[members & ~pop.is_influencer].max(initial=1.0)
            fitness[infl] = top * rng.uniform(1.3, 1.8, size=int(infl.sum()))
    members_of = [np.flatnonzero(pop.community == k) for k in range(c)]
    indeg = np.zeros(n, dtype=np.int64)
    target = int(out_deg.sum())
    have = np.zeros(0, dtype=np.int64)
    made_in = np.zeros(0, dtype=np.int64)
    for r in range(4 * _PA_ROUNDS):
        if len(have) >= target:
            break
        per = (out_deg * (r + 1)) // _PA_ROUNDS - (out_deg * r) // _PA_ROUNDS
        src = np.repeat(humans, per)
        cross = rng.random(len(src)) < cfg.inter_community_edge_share * 1.05 if c > 1 else np.zeros(len(src), bool)
        shift = rng.integers(1, max(c, 2), size=len(src))
        tcom = np.where(cross, (pop.community[src] + shift) % max(c, 1), pop.community[src])
        dst = np.array(src, dtype=np.int64)
        weight = fitness * (indeg + mean_out)
        for k in range(c):
            sel = np.flatnonzero(tcom == k)
            if len(sel) and len(members_of[k]):
                dst[sel] = _sample_in(rng, members_of[k], weight, len(sel))
        if r and cfg.triadic_share > 0:
            closing = rng.random(len(src)) < cfg.triadic_share
            dst[closing] = _close_triangles(src[closing], have, n, rng)
        key = unique(src[src != dst] * n + dst[src != dst])
        new = key[~sorted_member(key, have)]
        # ``have`` and ``new`` are sorted, unique and disjoint: merging them (a stable sort of two runs) is their union.
        pos = np.argsort(np.concatenate([have, new]), kind="stable")
        have = np.concatenate([have, new])[pos]
        made_in = np.concatenate([made_in, np.full(len(new), r, dtype=np.int64)])[pos]
        indeg += np.bincount(new % n, minlength=n)
    if len(have) > target:
        keep = np.sort(rng.choice(len(have), size=target, replace=False))
        have, made_in = have[keep], made_in[keep]
    return have, made_in


def _bot_rings(
    cfg: SimulateConfig, pop: Population, rng: np.random.Generator, period: Period
) -> tuple[np.ndarray, np.ndarray]:
    """Bots act in rings: in a few waves, every bot follows the same targets within minutes."""
    keys, times = [], []
    for ring in range(int(pop.bot_ring.max()) + 1):
        bots = np.flatnonzero(pop.bot_ring == ring)
        k = int(pop.community[bots[0]])
        targets_pool = np.flatnonzero(~pop.is_bot & (pop.community == k) & ~pop.is_influencer)
        if not len(bots) or not len(targets_pool):
            continue
        for _ in range(3):
            wave_ms = period.start_ms + int(rng.integers(0, period.days * MS_PER_DAY - 3_600_000))
            targets = rng.choice(targets_pool, size=min(25, len(targets_pool)), replace=False)
            joined = bots[rng.random(len(bots)) < 0.9]
            src = np.repeat(joined, len(targets))
            dst = np.tile(targets, len(joined))
            lag = np.repeat(rng.integers(0, 20 * 60_000, size=len(joined)), len(targets))
            step = rng.integers(2_000, 12_000, size=len(src))
            order = np.tile(np.arange(len(targets)), len(joined))
            keys.append(src.astype(np.int64) * pop.n + dst)
            times.append(wave_ms + lag + order * step)
    if not keys:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    key = np.concatenate(keys)
    ts = np.concatenate(times)
    key, first = np.unique(key, return_index=True)  # a bot follows a target once (its first wave)
    return key, ts[first]


def _rank_by_round(made_in: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Each edge's rank ordered by round, then by ``u`` (uniform [0, 1) draws): ``argsort(lexsort((u, made_in)))``.

    One sort of an exact 64-bit key: a NumPy double in [0, 1) is k / 2**53, so ``u * 2**53`` is the integer k.
    """
    key = (made_in.astype(np.int64) << 53) | (u * 2.0**53).astype(np.int64)
    perm = np.argsort(key, kind="stable")
    rank = np.empty(len(perm), dtype=np.int64)
    rank[perm] = np.arange(len(perm))
    return rank


def make_follow_graph(cfg: SimulateConfig, pop: Population, period: Period, n_follow_events: int) -> FollowGraph:
    """Plant the follow graph sized so follows + unfollows come to about ``n_follow_events``.

    The share of current edges between communities is set to ``cfg.inter_community_edge_share``
    exactly by dropping surplus human edges of the over-represented kind.
    """
    rng = stream(cfg.seed, 2)
    n = pop.n
    bot_key, bot_ts = _bot_rings(cfg, pop, rng, period)
    humans = max(int((~pop.is_bot).sum()), 1)
    budget = max(n_follow_events / (1.0 + cfg.unfollow_share) - len(bot_key), humans)
    mean_out = float(np.clip(budget / humans, 1.5, 60.0))
    org_key, org_round = _organic_edges(cfg, pop, rng, mean_out)
    not_bot = ~sorted_member(org_key, bot_key)  # bot_key is sorted
    org_key, org_round = org_key[not_bot], org_round[not_bot]
    src = np.concatenate([org_key // n, bot_key // n]).astype(np.int32)
    dst = np.concatenate([org_key % n, bot_key % n]).astype(np.int32)
    by_bot = np.concatenate([np.zeros(len(org_key), bool), np.ones(len(bot_key), bool)])
    # The graph grows over the period: edges of later rounds (triangle closures among them) come later.
    org_ts = np.sort(period.sample(rng, len(org_key)))[_rank_by_round(org_round, rng.random(len(org_key)))]
    followed = np.concatenate([org_ts, bot_ts]).astype(np.int64)
    unfollowed = np.full(len(src), _NO_UNFOLLOW, dtype=np.int64)
    churn = ~by_bot & (rng.random(len(src)) < cfg.unfollow_share)
    later = followed[churn] + rng.exponential(3.0 * MS_PER_DAY, size=int(churn.sum())).astype(np.int64) + 60_000
    unfollowed[np.flatnonzero(churn)] = np.where(later < period.end_ms, later, _NO_UNFOLLOW)
    keep = _exact_share(cfg, pop, src, dst, by_bot, unfollowed < 0, rng)
    order = lexsort((src[keep].astype(np.int64) * n + dst[keep], followed[keep]))  # by time, follower, followee
    idx = np.flatnonzero(keep)[order]
    return FollowGraph(src[idx], dst[idx], followed[idx], unfollowed[idx], by_bot[idx])


def _exact_share(
    cfg: SimulateConfig,
    pop: Population,
    src: np.ndarray,
    dst: np.ndarray,
    by_bot: np.ndarray,
    current: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Mask of edges to keep so current inter-community edges are the configured share."""
    keep = np.ones(len(src), dtype=bool)
    cross = pop.community[src] != pop.community[dst]
    s = cfg.inter_community_edge_share
    total, n_cross = int(current.sum()), int((cross & current).sum())
    if total == 0:
        return keep
    if n_cross > s * total:
        drop = round((n_cross - s * total) / (1.0 - s)) if s < 1 else 0
        pool = np.flatnonzero(cross & ~by_bot)
    else:
        drop = round(total - n_cross / s) if s > 0 else 0
        pool = np.flatnonzero(~cross & ~by_bot)
    drop = min(drop, len(pool))
    if drop > 0:
        # Drop whole edges (and their unfollows) among the pool, current ones counted against the target.
        cur_pool = pool[current[pool]]
        chosen = rng.choice(cur_pool, size=min(drop, len(cur_pool)), replace=False)
        keep[chosen] = False
    return keep

"""The global structure every generation task shares: population, follow graph, content, cascades."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from socialflywheel.config.simulate import SimulateConfig
from socialflywheel.simulate.content import Content, make_content
from socialflywheel.simulate.graph import FollowGraph, make_follow_graph
from socialflywheel.simulate.population import Population, make_population
from socialflywheel.simulate.sets import sorted_member, unique
from socialflywheel.simulate.timeline import MS_PER_HOUR, Period, stream

# Expected events per view (the view, its likes/comments/shares/clicks, ads, searches): sizes sessions.
EVENTS_PER_VIEW = 1.38
VIEWS_PER_SESSION = 8.0
_T = TypeVar("_T")
_CACHE_LOCK = threading.RLock()  # re-entrant: a cached value may be built from another one


@dataclass
class Cascades:
    """Share cascades of viral posts: who saw and re-shared what, through whom, at which depth."""

    user: np.ndarray
    post: np.ndarray
    ts_ms: np.ndarray
    parent: np.ndarray  # user whose share (or post) this came through
    depth: np.ndarray
    is_share: np.ndarray  # bool: a share event (else a view)


@dataclass
class World:
    """Everything planted on the driver; tasks derive their chunk's events from it."""

    cfg: SimulateConfig
    period: Period
    pop: Population
    graph: FollowGraph
    content: Content
    cascades: Cascades
    sessions_total: float
    cache: dict[str, Any] = field(default_factory=dict)  # per-process derived arrays (Arrow text columns)

    def cached(self, key: str, build: Callable[[], _T]) -> _T:
        """``cache[key]``, built by ``build()`` the first time; chunks run on concurrent threads, one builds."""
        with _CACHE_LOCK:
            if key not in self.cache:
                self.cache[key] = build()
            value: _T = self.cache[key]
            return value


def _cascades(cfg: SimulateConfig, pop: Population, graph: FollowGraph, content: Content, period: Period) -> Cascades:
    """Level by level over followers: a viewer re-shares with some probability, and so on."""
    rng = stream(cfg.seed, 4)
    n = pop.n
    cur = graph.current & ~graph.by_bot
    order = np.argsort(graph.dst[cur], kind="stable")
    followers = graph.src[cur][order]
    ptr = np.concatenate([[0], np.cumsum(np.bincount(graph.dst[cur], minlength=n))])
    n_seed = max(1, content.n // 150)
    p = content.popularity / content.popularity.sum()
    seeds = unique(rng.choice(content.n, size=n_seed, p=p))
    fr_cas, fr_user = seeds, content.author[seeds].astype(np.int64)
    fr_t, depth = content.created_ms[seeds], 0
    visited = unique(fr_cas * n + fr_user)
    out: list[tuple[np.ndarray, ...]] = []
    while len(fr_cas) and depth < 8:
        deg = ptr[fr_user + 1] - ptr[fr_user]
        rep = np.repeat(np.arange(len(fr_cas)), deg)
        off = np.arange(len(rep)) - np.repeat(np.cumsum(deg) - deg, deg)
        viewer = followers[ptr[fr_user][rep] + off].astype(np.int64)
        seen = rng.random(len(rep)) < 0.3
        rep, viewer = rep[seen], viewer[seen]
        key = fr_cas[rep] * n + viewer
        key, first = np.unique(key, return_index=True)
        fresh = ~sorted_member(key, visited)
        rep, viewer = rep[first][fresh], viewer[first][fresh]
        # Both sorted, unique and disjoint: a merge (a stable sort of two runs) is their union1d.
        visited = np.sort(np.concatenate([visited, key[fresh]]), kind="stable")
        t = fr_t[rep] + rng.exponential(2 * MS_PER_HOUR, size=len(rep)).astype(np.int64) + 60_000
        ok = t < period.end_ms
        rep, viewer, t = rep[ok], viewer[ok], t[ok]
        share = rng.random(len(rep)) < 0.14
        out.append((viewer, fr_cas[rep], t, fr_user[rep], np.full(len(rep), depth + 1), share))
        fr_cas, fr_user, fr_t = fr_cas[rep][share], viewer[share], t[share] + 30_000
        depth += 1
    if not out:
        z = np.zeros(0, np.int64)
        return Cascades(z, z, z, z, z, np.zeros(0, bool))
    cols = [np.concatenate(c) for c in zip(*out, strict=True)]
    return Cascades(cols[0], cols[1], cols[2], cols[3], cols[4].astype(np.int16), cols[5].astype(bool))


def make_world(cfg: SimulateConfig) -> World:
    """Plant users, communities, the follow graph, posts, trends, campaigns and cascades."""
    period = Period.from_date(cfg.start_date, cfg.days)
    pop = make_population(cfg)
    graph = make_follow_graph(cfg, pop, period, int(cfg.events * cfg.follow_share))
    content = make_content(cfg, pop, period, graph.in_degree(pop.n))
    cascades = _cascades(cfg, pop, graph, content, period)
    follow_events = len(graph.src) + int((~graph.current).sum())
    remaining = cfg.events - follow_events - content.n - len(cascades.user) - int(cascades.is_share.sum())
    sessions = max(remaining, cfg.users) / EVENTS_PER_VIEW / VIEWS_PER_SESSION
    return World(cfg, period, pop, graph, content, cascades, float(sessions))

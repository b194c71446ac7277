"""Users with latent interests, planted communities, influencers and bots (driver side, NumPy)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from socialflywheel.config.simulate import SimulateConfig
from socialflywheel.simulate.timeline import stream

COUNTRIES = np.array(["US", "GB", "DE", "FR", "BR", "IN", "JP", "ES", "IT", "CA", "MX", "NG", "AU", "KR", "NL", "SE"])
_COUNTRY_P = np.array([0.22, 0.08, 0.08, 0.07, 0.08, 0.10, 0.05, 0.05, 0.04, 0.04, 0.04, 0.04, 0.03, 0.03, 0.03, 0.02])
DEVICES = np.array(["ios", "android", "web"])
_DEVICE_P = np.array([0.45, 0.40, 0.15])


@dataclass
class Population:
    """Every user's planted attributes, indexed by user number (raw id ``u%06d``)."""

    community: np.ndarray  # int16, planted community
    interests: np.ndarray  # float64 [users, topics], rows sum to 1
    is_bot: np.ndarray  # bool
    is_influencer: np.ndarray  # bool
    bot_ring: np.ndarray  # int16 ring of coordinated bots, -1 for people
    activity: np.ndarray  # float64, relative activity (mean 1 over humans)
    country: np.ndarray  # int8 index into COUNTRIES
    device: np.ndarray  # int8 index into DEVICES

    @property
    def n(self) -> int:
        """Number of users."""
        return int(self.community.shape[0])

    @property
    def top_topic(self) -> np.ndarray:
        """Each user's strongest interest topic."""
        top: np.ndarray = np.argmax(self.interests, axis=1)
        return top


def make_population(cfg: SimulateConfig) -> Population:
    """Draw users: community sizes vary, interests follow the community's topic profile."""
    rng = stream(cfg.seed, 1)
    n, c, t = cfg.users, cfg.communities, cfg.topics
    sizes = rng.dirichlet(np.full(c, 20.0))
    community = rng.choice(c, size=n, p=sizes).astype(np.int16)
    # Each community cares about two or three topics more than the rest.
    profile = rng.dirichlet(np.full(t, 0.35), size=c)
    interests = _interests(rng, profile, community)
    is_bot = np.zeros(n, dtype=bool)
    n_bots = round(cfg.bot_share * n)
    if n_bots:
        is_bot[rng.choice(n, size=n_bots, replace=False)] = True
    # Bots work in rings of about 15; a ring lives in (and is labelled with) one community.
    bot_ring = np.full(n, -1, dtype=np.int16)
    bots = np.flatnonzero(is_bot)
    bot_ring[bots] = np.arange(len(bots)) % max(1, len(bots) // 15)
    community[bots] = (bot_ring[bots] * 3 + 1) % c
    is_influencer = np.zeros(n, dtype=bool)
    for k in range(c):
        members = np.flatnonzero((community == k) & ~is_bot)
        take = min(cfg.influencers_per_community, max(len(members) - 1, 0))
        if take:
            is_influencer[rng.choice(members, size=take, replace=False)] = True
    activity = rng.lognormal(0.0, 0.9, size=n)
    activity[is_influencer] *= 3.0
    activity /= activity[~is_bot].mean()
    home = rng.choice(len(COUNTRIES), size=c, p=_COUNTRY_P)
    country = np.where(rng.random(n) < 0.6, home[community], rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P))
    device = rng.choice(len(DEVICES), size=n, p=_DEVICE_P)
    return Population(
        community=community,
        interests=interests,
        is_bot=is_bot,
        is_influencer=is_influencer,
        bot_ring=bot_ring,
        activity=activity,
        country=country.astype(np.int8),
        device=device.astype(np.int8),
    )


def _interests(rng: np.random.Generator, profile: np.ndarray, community: np.ndarray) -> np.ndarray:
    """Dirichlet interests around each user's community profile (gamma draws, vectorized)."""
    alpha = 12.0 * profile[community] + 0.15
    g = rng.standard_gamma(alpha)
    g = np.maximum(g, 1e-12)
    out: np.ndarray = g / g.sum(axis=1, keepdims=True)
    return out

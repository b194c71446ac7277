"""Posts, hashtags with planted trends, and ad campaigns (driver side, NumPy)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from socialflywheel.config.simulate import SimulateConfig
from socialflywheel.simulate.population import Population
from socialflywheel.simulate.text import CATEGORIES, sentence_bank
from socialflywheel.simulate.timeline import MS_PER_HOUR, Period, stream

# High-volume tags used every day by every community: they never burst.
STEADY_TAGS = ("photooftheday", "weekend", "daily", "mood", "throwback", "instadaily")
_TAG_SUFFIXES = ("", "life", "daily", "lovers", "talk", "news", "community", "goals")
_TREND_WORDS = (
    "eclipse",
    "heatwave",
    "finals",
    "launchday",
    "blackout",
    "derby",
    "premiere",
    "comeback",
    "meteor",
    "snowday",
    "election",
    "marathon",
    "festival",
    "recall",
    "upset",
    "reunion",
)
SENTIMENT_P = np.array([0.4, 0.25, 0.35])  # positive, negative, neutral


@dataclass
class Content:
    """The post catalogue, the tag vocabulary, planted trends and ad campaigns."""

    author: np.ndarray  # int32 user number
    created_ms: np.ndarray  # int64, sorted ascending
    category: np.ndarray  # int16 topic index
    sentiment: np.ndarray  # int8 index into SENTIMENTS
    text_json: np.ndarray  # object: the post text as a JSON string literal
    tags_json: np.ndarray  # object: the hashtags as a JSON array literal
    tags: list[list[str]]
    popularity: np.ndarray  # float64 relative reach
    campaign: np.ndarray  # int16 campaign index, -1 when organic
    trend_tag: list[str]
    trend_start_ms: np.ndarray
    trend_end_ms: np.ndarray
    trend_strength: np.ndarray
    camp_category: np.ndarray  # int16
    camp_ctr: np.ndarray  # float64 base click-through rate
    camp_start_ms: np.ndarray
    camp_end_ms: np.ndarray
    camp_budget: np.ndarray  # float64 share of impressions
    bank_json: np.ndarray  # object: every bank sentence as a JSON literal
    bank_sentiment: np.ndarray  # int8

    @property
    def n(self) -> int:
        """Number of posts."""
        return int(self.author.shape[0])


def category_tags(topics: int) -> list[list[str]]:
    """A small tag vocabulary per category (the category name first: the most used)."""
    return [[f"{CATEGORIES[k]}{s}" for s in _TAG_SUFFIXES] for k in range(topics)]


def make_content(cfg: SimulateConfig, pop: Population, period: Period, indeg: np.ndarray) -> Content:
    """Draw posts (author, time, category, sentiment, tags), trends and campaigns."""
    rng = stream(cfg.seed, 3)
    n_posts = max(int(cfg.events * cfg.post_share), cfg.communities * 4)
    weight = pop.activity * np.where(pop.is_influencer, 4.0, 1.0) * np.where(pop.is_bot, 0.05, 1.0)
    author = rng.choice(pop.n, size=n_posts, p=weight / weight.sum()).astype(np.int32)
    created = np.sort(period.sample(rng, n_posts))
    cum = np.cumsum(pop.interests[author], axis=1)
    own = (cum < rng.random(n_posts)[:, None]).sum(axis=1)
    category = np.where(
        rng.random(n_posts) < 0.85, np.minimum(own, cfg.topics - 1), rng.integers(0, cfg.topics, n_posts)
    )
    bank, bank_sent = sentence_bank()
    sentiment = rng.choice(3, size=n_posts, p=SENTIMENT_P).astype(np.int8)
    by_class = [np.flatnonzero(bank_sent == k) for k in range(3)]
    sentence = np.array(
        [by_class[s][i % len(by_class[s])] for s, i in zip(sentiment, rng.integers(0, 1 << 30, n_posts), strict=True)]
    )
    # Trends: small-baseline tags whose use jumps for a few hours to a day at a known hour.
    n_tr = cfg.trends
    trend_tag = [f"{_TREND_WORDS[i % len(_TREND_WORDS)]}{2026 + i // len(_TREND_WORDS)}" for i in range(n_tr)]
    lo_h, hi_h = min(48, period.hours // 4), max(period.hours - 30, min(48, period.hours // 4) + 1)
    t_start = period.start_ms + rng.integers(lo_h, hi_h, size=n_tr) * MS_PER_HOUR
    t_end = np.minimum(t_start + rng.integers(4, 25, size=n_tr) * MS_PER_HOUR, period.end_ms)
    strength = rng.uniform(0.25, 0.5, size=n_tr)
    vocab = category_tags(cfg.topics)
    zipf = 1.0 / np.arange(1, len(_TAG_SUFFIXES) + 1) ** 1.2
    zipf /= zipf.sum()
    n_cat_tags = rng.integers(1, 3, size=n_posts)
    first = rng.choice(len(_TAG_SUFFIXES), size=n_posts, p=zipf)
    second = rng.choice(len(_TAG_SUFFIXES), size=n_posts, p=zipf)
    steady = np.where(rng.random(n_posts) < 0.35, rng.integers(0, len(STEADY_TAGS), n_posts), -1)
    trend_hit = [
        ((created >= t_start[k]) & (created < t_end[k]) & (rng.random(n_posts) < strength[k]))
        | (rng.random(n_posts) < 0.0015)
        for k in range(n_tr)
    ]
    tags: list[list[str]] = []
    for i in range(n_posts):
        row = [vocab[category[i]][first[i]]]
        if n_cat_tags[i] > 1 and second[i] != first[i]:
            row.append(vocab[category[i]][second[i]])
        if steady[i] >= 0:
            row.append(STEADY_TAGS[steady[i]])
        row.extend(trend_tag[k] for k in range(n_tr) if trend_hit[k][i])
        tags.append(row)
    text_json = np.array(
        [
            json.dumps(bank[s] + " " + " ".join("#" + t for t in row), ensure_ascii=False)
            for s, row in zip(sentence, tags, strict=True)
        ],
        dtype=object,
    )
    tags_json = np.array([json.dumps(row) for row in tags], dtype=object)
    quality = rng.lognormal(0.0, 0.7, size=n_posts)
    popularity = quality * (1.0 + np.log1p(indeg[author])) ** 1.5
    # Campaigns: a target category, a run of days, a base CTR; two sponsored posts each.
    n_c = cfg.campaigns
    camp_cat = rng.integers(0, cfg.topics, size=n_c).astype(np.int16)
    camp_ctr = np.exp(rng.uniform(np.log(0.005), np.log(0.06), size=n_c))
    c_start = period.start_ms + rng.integers(0, max(period.days // 2, 1), size=n_c) * 86_400_000
    c_end = np.minimum(
        c_start + rng.integers(max(period.days // 3, 1), period.days + 1, size=n_c) * 86_400_000, period.end_ms
    )
    budget = rng.uniform(0.5, 1.5, size=n_c)
    campaign = np.full(n_posts, -1, dtype=np.int16)
    for k in range(n_c):
        window = np.flatnonzero((created >= c_start[k] - 86_400_000) & (created < c_start[k] + 86_400_000))
        pool = window if len(window) >= 2 else np.arange(n_posts)
        chosen = rng.choice(pool, size=min(2, len(pool)), replace=False)
        chosen = chosen[campaign[chosen] < 0]
        campaign[chosen] = k
        category[chosen] = camp_cat[k]
    return Content(
        author=author,
        created_ms=created.astype(np.int64),
        category=category.astype(np.int16),
        sentiment=sentiment,
        text_json=text_json,
        tags_json=tags_json,
        tags=tags,
        popularity=popularity,
        campaign=campaign,
        trend_tag=trend_tag,
        trend_start_ms=t_start.astype(np.int64),
        trend_end_ms=t_end.astype(np.int64),
        trend_strength=strength,
        camp_category=camp_cat,
        camp_ctr=camp_ctr,
        camp_start_ms=c_start.astype(np.int64),
        camp_end_ms=c_end.astype(np.int64),
        camp_budget=budget / max(budget.sum(), 1e-9),
        bank_json=np.array([json.dumps(t, ensure_ascii=False) for t in bank], dtype=object),
        bank_sentiment=bank_sent,
    )

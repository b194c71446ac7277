"""Posts, hashtags with planted trends, and ad campaigns (driver side, NumPy)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
_PLAIN_TAG = re.compile("[a-z0-9]+")


@dataclass
class Content:
    """The post catalogue, the tag vocabulary, planted trends and ad campaigns."""

    author: np.ndarray  # int32 user number
    created_ms: np.ndarray  # int64, sorted ascending
    category: np.ndarray  # int16 topic index
    sentiment: np.ndarray  # int8 index into SENTIMENTS
    text_json: pa.Array  # string: the post text as a JSON string literal
    tags_json: pa.Array  # string: the hashtags as a JSON array literal
    tags: pa.ListArray  # list<string>: the hashtags
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


def _hashtags(
    vocab: list[list[str]],
    category: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    n_cat_tags: np.ndarray,
    steady: np.ndarray,
    trend_tag: list[str],
    trend_hit: list[np.ndarray],
) -> pa.ListArray:
    """Each post's hashtags in order: a category tag, maybe a second one, maybe a steady tag, its trend tags."""
    names = [t for row in vocab for t in row] + list(STEADY_TAGS) + trend_tag
    if not all(_PLAIN_TAG.fullmatch(t) for t in names):
        raise ValueError("hashtags must be plain [a-z0-9] words (they are written into JSON unescaped)")
    n_posts, per_cat, n_cat_names = len(category), len(_TAG_SUFFIXES), len(vocab) * len(_TAG_SUFFIXES)
    both = (n_cat_tags > 1) & (second != first)
    with_steady = np.flatnonzero(steady >= 0)
    # (post, slot, tag) of every tag; slot orders a post's tags: first, second, steady, then trends by number.
    parts = [
        (np.arange(n_posts), np.zeros(n_posts, np.int64), category * per_cat + first),
        (np.flatnonzero(both), np.ones(int(both.sum()), np.int64), (category * per_cat + second)[both]),
        (with_steady, np.full(len(with_steady), 2, np.int64), n_cat_names + steady[with_steady]),
    ]
    for k, hit in enumerate(trend_hit):
        posts = np.flatnonzero(hit)
        parts.append(
            (posts, np.full(len(posts), 3 + k, np.int64), np.full(len(posts), n_cat_names + len(STEADY_TAGS) + k))
        )
    post = np.concatenate([p[0] for p in parts]).astype(np.int64)
    slot = np.concatenate([p[1] for p in parts])
    tag = np.concatenate([p[2] for p in parts]).astype(np.int64)
    order = np.lexsort((slot, post))
    offsets = np.concatenate([[0], np.cumsum(np.bincount(post, minlength=n_posts))]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(names).take(pa.array(tag[order])))


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
    # A bank sentence of the post's sentiment for each post (draws taken modulo the class size).
    draw = rng.integers(0, 1 << 30, n_posts)
    class_size = np.array([len(b) for b in by_class], dtype=np.int64)
    class_start = np.cumsum(class_size) - class_size
    sentence = np.concatenate(by_class)[class_start[sentiment] + draw % class_size[sentiment]]
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
    tags = _hashtags(vocab, category, first, second, n_cat_tags, steady, trend_tag, trend_hit)
    # The post text: its sentence, a space and the tags as #words, as a JSON literal; the tags need no escaping
    # (checked in _hashtags), so the literal is the sentence's literal with the tags before its closing quote.
    open_sentence = pa.array([json.dumps(t, ensure_ascii=False)[:-1] for t in bank], pa.string())
    hash_words = pa.ListArray.from_arrays(tags.offsets, pc.binary_join_element_wise("#", tags.values, ""))
    text_json = pc.binary_join_element_wise(
        open_sentence.take(pa.array(sentence)), " ", pc.binary_join(hash_words, " "), '"', ""
    )
    tags_json = pc.binary_join_element_wise('["', pc.binary_join(tags, '", "'), '"]', "")
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

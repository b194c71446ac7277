"""The report's figures as small pandas frames: pure aggregations of gold tables, k-suppression applied again.

Every function takes already-read frames (the job reads them through ``Lake.read_arrow``) and
``k = privacy.min_group_users``; a row that describes fewer than ``k`` distinct people is dropped
before anything is aggregated or drawn, even though the gold jobs suppress too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from socialflywheel.config.stages import FairnessThresholds


@dataclass(frozen=True)
class Suppressed:
    """Rows kept and how many were hidden for having fewer than k distinct people."""

    rows: pd.DataFrame
    hidden: int


def suppress(df: pd.DataFrame, column: str, k: int) -> Suppressed:
    """Drop rows whose distinct-user count ``column`` is below ``k`` (nulls count as below).

    Args:
        df: A gold aggregate.
        column: Its distinct-user count column.
        k: The smallest publishable group.

    Returns:
        The rows kept and the number hidden.
    """
    if df.empty:
        return Suppressed(df.copy(), 0)
    keep = df[column].fillna(0).astype(np.int64) >= k
    return Suppressed(df[keep].reset_index(drop=True), int((~keep).sum()))


def campaign_summary(perf: pd.DataFrame, k: int) -> Suppressed:
    """Per campaign over its published days: impressions, clicks, CTR, peak daily reach, mean frequency.

    Args:
        perf: gold.campaign_performance rows.
        k: Days reaching fewer than ``k`` people are dropped before summing.

    Returns:
        One row per campaign (``campaign_id, days, impressions, clicks, ctr, peak_daily_reach,
        mean_frequency``), sorted by impressions, and the number of campaign-days hidden.
    """
    kept = suppress(perf, "reach", k)
    rows = kept.rows
    if rows.empty:
        cols = ["campaign_id", "days", "impressions", "clicks", "ctr", "peak_daily_reach", "mean_frequency"]
        return Suppressed(pd.DataFrame(columns=cols), kept.hidden)
    out = rows.groupby("campaign_id", as_index=False).agg(
        days=("day", "nunique"),
        impressions=("impressions", "sum"),
        clicks=("clicks", "sum"),
        peak_daily_reach=("reach", "max"),
        mean_frequency=("frequency", "mean"),
    )
    out["ctr"] = out["clicks"] / out["impressions"].where(out["impressions"] > 0)
    out = out.sort_values(["impressions", "campaign_id"], ascending=[False, True], kind="stable")
    return Suppressed(out.reset_index(drop=True), kept.hidden)


def sentiment_by_category(aggregates: pd.DataFrame, k: int) -> Suppressed:
    """Positive/neutral/negative shares and item-weighted mean compound per post category.

    Args:
        aggregates: gold.sentiment_aggregates rows (all group types; categories are kept).
        k: Category-days with fewer than ``k`` distinct users are dropped before summing.

    Returns:
        One row per category (``category, days, items, positive, neutral, negative, positive_share,
        negative_share, mean_compound``), most items first, and the number of category-days hidden.
    """
    cat = aggregates[aggregates["group_type"] == "category"]
    kept = suppress(cat, "users", k)
    rows = kept.rows.copy()
    if rows.empty:
        cols = ["category", "days", "items", "positive", "neutral", "negative", "positive_share", "negative_share"]
        return Suppressed(pd.DataFrame(columns=[*cols, "mean_compound"]), kept.hidden)
    rows["weighted"] = rows["mean_compound"] * rows["items"]
    out = rows.groupby("group_key", as_index=False).agg(
        days=("day", "nunique"),
        items=("items", "sum"),
        positive=("positive", "sum"),
        neutral=("neutral", "sum"),
        negative=("negative", "sum"),
        weighted=("weighted", "sum"),
    )
    out = out.rename(columns={"group_key": "category"})
    out["positive_share"] = out["positive"] / out["items"]
    out["negative_share"] = out["negative"] / out["items"]
    out["mean_compound"] = out["weighted"] / out["items"]
    out = out.drop(columns="weighted").sort_values(["items", "category"], ascending=[False, True], kind="stable")
    return Suppressed(out.reset_index(drop=True), kept.hidden)


def trend_view(trends: pd.DataFrame, scores: pd.DataFrame, k: int, *, top: int = 8) -> tuple[Suppressed, pd.DataFrame]:
    """The strongest detected trends and their score series, buckets with fewer than k users hidden.

    Args:
        trends: gold.hashtag_trends rows.
        scores: gold.hashtag_trend_scores rows (``granularity, hashtag, bucket_start, uses, users, score``).
        k: A trend whose peak bucket had fewer than ``k`` users is hidden; so is any series bucket.
        top: Most trends listed (by strength).

    Returns:
        The trends kept (with ``peak_users``) and the number hidden; and the series points kept
        (``granularity, hashtag, bucket_start, uses, users, score``) for those trends.
    """
    if trends.empty:
        return Suppressed(trends.assign(peak_users=pd.Series(dtype=np.int64)), 0), scores.iloc[0:0]
    peaks = scores.rename(columns={"bucket_start": "peak_ts", "users": "peak_users"})[
        ["granularity", "hashtag", "peak_ts", "peak_users"]
    ]
    joined = trends.merge(peaks, on=["granularity", "hashtag", "peak_ts"], how="left")
    kept = suppress(joined, "peak_users", k)
    shown = kept.rows.sort_values(["strength", "hashtag"], ascending=[False, True], kind="stable").head(top)
    keys = shown[["granularity", "hashtag"]].drop_duplicates()
    series = scores.merge(keys, on=["granularity", "hashtag"])
    series = suppress(series, "users", k).rows.sort_values(["granularity", "hashtag", "bucket_start"])
    return Suppressed(shown.reset_index(drop=True), kept.hidden), series.reset_index(drop=True)


def community_view(communities: pd.DataFrame, k: int) -> Suppressed:
    """Communities of at least ``k`` members, largest first (``size`` counts distinct people).

    Args:
        communities: gold.graph_communities rows.
        k: The smallest community shown.

    Returns:
        The communities kept and how many smaller ones were hidden.
    """
    kept = suppress(communities, "size", k)
    rows = kept.rows.sort_values(["size", "community"], ascending=[False, True], kind="stable")
    return Suppressed(rows.reset_index(drop=True), kept.hidden)


def top_influencers(centrality: pd.DataFrame, communities_shown: pd.Series, *, n: int = 10) -> pd.DataFrame:
    """The ``n`` highest-PageRank people (pseudonymous ids) whose community is shown.

    Args:
        centrality: gold.graph_centrality rows.
        communities_shown: Community ids that passed k-suppression (people of hidden ones are left out).
        n: How many to list.

    Returns:
        ``user_id, pagerank, in_degree, core_number, community, rank_in_community``, PageRank order.
    """
    cols = ["user_id", "pagerank", "in_degree", "core_number", "community", "rank_in_community"]
    rows = centrality[centrality["community"].isin(set(communities_shown))]
    rows = rows.sort_values(["pagerank", "user_id"], ascending=[False, True], kind="stable")
    return rows[cols].head(n).reset_index(drop=True)


def segment_profiles(segments: pd.DataFrame, k: int, *, features: int = 6) -> tuple[Suppressed, pd.DataFrame]:
    """Segments of at least ``k`` users and the features that most tell them apart.

    Args:
        segments: gold.segments rows (``features`` is a list of (name, mean) pairs or a dict).
        k: The smallest segment shown.
        features: How many features to profile (largest spread of segment means, relative to their scale).

    Returns:
        The segments kept (``segment, users, top_categories``) with the number hidden, and a
        segment x feature frame of the mean values of the chosen features.
    """
    kept = suppress(segments, "users", k)
    rows = kept.rows.sort_values(["users", "segment"], ascending=[False, True], kind="stable").reset_index(drop=True)
    means = pd.DataFrame(
        [dict(f) if not isinstance(f, dict) else f for f in rows["features"]], index=rows["segment"]
    ).astype(float)
    if means.empty:
        return Suppressed(rows, kept.hidden), means
    spread = (means.max() - means.min()) / (means.abs().max() + 1e-9)
    chosen = spread.sort_values(ascending=False, kind="stable").head(features).index
    return Suppressed(rows, kept.hidden), means[list(chosen)]


def fairness_view(fairness: pd.DataFrame, k: int) -> tuple[pd.DataFrame, int]:
    """The latest measured model version's fairness rows, small groups hidden.

    A group is hidden when it is made of fewer than ``k`` creators, or when between 1 and ``k - 1``
    people received its posts (a group nobody received says nothing about any recipient, and its
    zero exposure is the finding a fairness report exists to show).

    Args:
        fairness: gold.recommendation_fairness rows (any number of versions).
        k: The smallest publishable group.

    Returns:
        The rows of the most recently generated version that pass, and how many were hidden.
    """
    if fairness.empty:
        return fairness, 0
    latest = fairness.sort_values(["generated_at", "model_version"], kind="stable")["model_version"].iloc[-1]
    rows = fairness[fairness["model_version"] == latest]
    small = (rows["creators"] < k) | ((rows["users"] > 0) & (rows["users"] < k))
    return rows[~small].reset_index(drop=True), int(small.sum())


def fairness_checks(fairness: pd.DataFrame, thresholds: FairnessThresholds, k: int) -> pd.DataFrame:
    """The latest version's exposure against the configured limits and against the version measured before it.

    Rows: Gini of exposure, catalogue coverage, and emerging creators' exposure over their catalogue share (a
    group hidden by k for either version shows no figure for it). Columns: ``check``, ``value``, ``previous``,
    ``change``, ``limit``, ``verdict`` (``within``, ``breached`` or ``hidden``), ``metric``.
    """
    order = fairness.sort_values(["generated_at", "model_version"], kind="stable")
    versions = list(dict.fromkeys(order["model_version"].astype(str)))
    latest, previous = versions[-1], versions[-2] if len(versions) > 1 else None

    def figures(version: str | None) -> dict[str, float]:
        if version is None:
            return {}
        rows = fairness[fairness["model_version"].astype(str) == version]
        out = {"gini": float(rows["gini_exposure"].iloc[0]), "coverage": float(rows["catalogue_coverage"].iloc[0])}
        emerging = rows[(rows["dimension"] == "creator_tier") & (rows["group_key"] == "emerging")]
        if len(emerging) and emerging["creators"].iloc[0] >= k and not 0 < emerging["users"].iloc[0] < k:
            share = float(emerging["catalogue_share"].iloc[0])
            out["emerging"] = float(emerging["exposure_share"].iloc[0]) / share if share > 0 else math.nan
        return out

    now, before = figures(latest), figures(previous)
    checks = (
        ("gini", "Gini of exposure (all items)", "max", thresholds.max_gini_exposure),
        ("coverage", "catalogue coverage", "min", thresholds.min_catalogue_coverage),
        ("emerging", "emerging creators: exposure / catalogue share", "min", thresholds.min_emerging_exposure_ratio),
    )
    rows = []
    for key, label, kind, limit in checks:
        value, prev = now.get(key, math.nan), before.get(key, math.nan)
        if math.isnan(value):
            verdict = "hidden"
        else:
            verdict = "within" if (value <= limit if kind == "max" else value >= limit) else "breached"
        rows.append(
            {
                "check": label,
                "value": value,
                "previous": prev,
                "change": value - prev,
                "limit": f"{'at most' if kind == 'max' else 'at least'} {limit:g}",
                "verdict": verdict,
                "metric": key,
            }
        )
    return pd.DataFrame(rows)


_ACTS = {
    "post": "posters", "view": "viewers", "like": "likers", "share": "sharers", "comment": "commenters",
    "follow": "followers of new people", "unfollow": "unfollowers", "click": "clickers", "search": "searchers",
    "ad_impression": "ad viewers", "ad_click": "ad clickers", "sessions": "frequent visitors",
}  # fmt: skip
_TRAITS = {
    "engagement_rate": ("engagers", "low engagers"), "active_days": ("regulars", "occasional visitors"),
    "log1p_dwell": ("long readers", "quick scrollers"), "ad_ctr": ("ad responders", "ad-blind people"),
    "days_since_last_event": ("lapsing people", "recently active people"),
    "log1p_followers": ("well-followed people", "little-followed people"),
    "log1p_followees": ("people who follow many", "people who follow few"),
}  # fmt: skip
_WINDOW = {"1d": "day", "7d": "week", "28d": "4 weeks"}


def readable_feature(name: str, value: float) -> tuple[str, float, str]:
    """A user feature's mean in the units people read: ``(header, value, kind)`` (kind as :func:`html.fmt_number`).

    ``log1p_<act>_<window>`` -> <act>s per <window> (expm1), dwell -> seconds, rates and affinities -> percent,
    active days and days since the last event -> days; any other feature is shown as stored.
    """
    head, _, window = name.rpartition("_")
    if name.startswith("log1p_dwell_"):
        return f"dwell {name.removeprefix('log1p_dwell_')} (s)", math.expm1(value) / 1000.0, "num"
    if name.startswith("log1p_") and window in _WINDOW:
        act = head.removeprefix("log1p_")
        return f"{act.replace('_', ' ')}s per {_WINDOW[window]}", math.expm1(value), "num"
    if name.startswith("log1p_"):
        return name.removeprefix("log1p_").replace("_", " "), math.expm1(value), "num"
    if name.startswith(("engagement_rate_", "affinity_")) or name == "ad_ctr":
        label = f"engagement rate per {_WINDOW.get(window, window)}" if name.startswith("engagement") else name
        return label.replace("affinity_", "affinity: ").replace("_", " "), value, "pct"
    if name.startswith("active_days_"):
        return f"active days per {_WINDOW.get(window, window)}", value, "num"
    return name.replace("_", " "), value, "num"


def _trait(feature: str, high: bool) -> str:
    """A feature's words for people high (or low) on it."""
    if feature.startswith("affinity_"):
        topic = feature.removeprefix("affinity_")
        return f"{topic} fans" if high else f"uninterested in {topic}"
    act = feature.removeprefix("log1p_").rpartition("_")[0]
    if act in _ACTS:
        return ("heavy " if high else "light ") + _ACTS[act]
    words = next((w for k, w in _TRAITS.items() if feature.startswith(k)), None)
    if words is None:
        return f"{'high' if high else 'low'} {feature.replace('_', ' ')}"
    return words[0] if high else words[1]


def segment_names(means: pd.DataFrame, categories: dict[int, list[str]] | None = None) -> dict[int, str]:
    """A distinct name per segment from the features that set it apart most (largest |z| across segments).

    The first trait names it; a name already taken gets the segment's next distinct trait, else its top category,
    else its number.
    """
    if means.empty:
        return {}
    z = (means - means.mean()) / means.std(ddof=0).replace(0, 1.0)
    names: dict[int, str] = {}
    for segment, row in z.iterrows():
        seg = int(str(segment))
        order = row.abs().sort_values(ascending=False, kind="stable").index
        words = list(dict.fromkeys(_trait(str(f), bool(row[f] >= 0)) for f in order))
        first = words[0].capitalize()
        tries = [first, *(f"{first}, {w}" for w in words[1:3])]
        tries += [f"{first}, {c}" for c in (categories or {}).get(seg, [])[:1]] + [f"{first} ({seg})"]
        names[seg] = next(t for t in tries if t not in names.values())
    return names


def wilson(successes: pd.Series, trials: pd.Series, confidence: float = 0.95) -> dict[str, pd.Series]:
    """Wilson score intervals of ``successes / trials`` per row (scipy's binomtest); NaN where there are no trials."""
    from scipy.stats import binomtest

    bounds: list[tuple[float, float]] = []
    for k, n in zip(successes.astype(int), trials.astype(int), strict=True):
        if n <= 0:
            bounds.append((np.nan, np.nan))
            continue
        ci = binomtest(min(k, n), n).proportion_ci(confidence_level=confidence, method="wilson")
        bounds.append((float(ci.low), float(ci.high)))
    low, high = [b[0] for b in bounds], [b[1] for b in bounds]
    return {"ctr_low": pd.Series(low, index=successes.index), "ctr_high": pd.Series(high, index=successes.index)}

"""One function per report section: frames in, an HTML ``<section>`` (with its plots embedded) out."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from socialflywheel.report import data
from socialflywheel.report.html import SectionHtml, figure, headline, missing, new_figure, note, section, table

SECTIONS = {
    "trending-hashtags": "Trending hashtags over time",
    "sentiment": "Sentiment by category",
    "campaigns": "Campaign performance",
    "communities": "Communities and top influencers",
    "segments": "Audience segment profiles",
    "model-metrics": "Recommender metrics against baselines",
    "fairness": "Recommendation exposure and fairness",
}
"""Section ids (stable: tests and links use them) and their headings, in page order."""


def _hidden(n: int, what: str, k: int) -> str:
    return note(f"{n} {what} hidden: fewer than {k} distinct people (privacy.min_group_users).") if n else ""


def _missing(section_id: str, text: str) -> SectionHtml:
    return section(section_id, SECTIONS[section_id], missing(text), state="missing")


def trends(trends_df: pd.DataFrame | None, scores: pd.DataFrame | None, k: int) -> SectionHtml:
    """Detected hashtag trends and their burst scores over time."""
    sid = "trending-hashtags"
    if trends_df is None or scores is None:
        return _missing(sid, "No trend data yet: gold.hashtag_trends is written by `flywheel features`.")
    shown, series = data.trend_view(trends_df, scores, k)
    rows = shown.rows
    body = headline([("trends detected", len(trends_df), "int", "trends:detected")])
    if rows.empty:
        body += note("No detected trend can be shown.") + _hidden(shown.hidden, "trends", k)
        return section(sid, SECTIONS[sid], body, state="empty")
    fig = new_figure()
    ax = fig.add_subplot()
    for (gran, tag), part in series.groupby(["granularity", "hashtag"], sort=True):
        ax.plot(part["bucket_start"], part["score"], marker="o", label=f"#{tag} ({gran})")
    ax.axhline(0, color="#999", lw=0.8)
    ax.set_ylabel("burst score (Poisson z vs own baseline)")
    ax.legend(fontsize=8, ncol=2)
    fig.autofmt_xdate()
    body += figure(fig, "Burst score per bucket of the strongest detected trends", name="trend-scores")
    body += table(
        rows,
        [
            ("hashtag", "hashtag", "text"),
            ("granularity", "bucket", "text"),
            ("start_ts", "start", "text"),
            ("end_ts", "end", "text"),
            ("uses", "uses", "int"),
            ("peak_users", "people at peak", "int"),
            ("strength", "peak score", "num"),
        ],
        metric=lambda r, c: f"trend:{r['granularity']}:{r['hashtag']}:{c}" if c in ("uses", "strength") else None,
        table_id="trends-table",
    )
    body += _hidden(shown.hidden, "trends", k) + note(
        "Series buckets used by fewer than k people are left out of the plot."
    )
    return section(sid, SECTIONS[sid], body)


def sentiment(aggregates: pd.DataFrame | None, k: int) -> SectionHtml:
    """VADER sentiment shares and mean compound per post category."""
    sid = "sentiment"
    if aggregates is None:
        return _missing(sid, "No sentiment yet: gold.sentiment_aggregates is written by `flywheel features`.")
    view = data.sentiment_by_category(aggregates, k)
    rows = view.rows
    if rows.empty:
        body = note("No category has enough people to be shown.") + _hidden(view.hidden, "category-days", k)
        return section(sid, SECTIONS[sid], body, state="empty")
    fig = new_figure(8, 0.5 + 0.4 * len(rows))
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    left = np.zeros(len(rows))
    for col, color in (("positive", "#3c9a5f"), ("neutral", "#b8c0cc"), ("negative", "#c8553d")):
        share = (rows[col] / rows["items"]).to_numpy(dtype=float)
        ax.barh(y, share, left=left, color=color, label=col)
        left += share
    ax.set_yticks(y, rows["category"].tolist())
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of posts and comments")
    ax.legend(fontsize=8, loc="lower right")
    body = figure(fig, "Sentiment mix of posts and comments per category", name="sentiment-by-category")
    body += table(
        rows,
        [
            ("category", "category", "text"),
            ("items", "texts", "int"),
            ("positive_share", "positive", "pct"),
            ("negative_share", "negative", "pct"),
            ("mean_compound", "mean compound", "num"),
        ],
        metric=lambda r, c: f"sentiment:{r['category']}:{c}" if c in ("items", "mean_compound") else None,
        table_id="sentiment-table",
    )
    return section(sid, SECTIONS[sid], body + _hidden(view.hidden, "category-days", k))


def campaigns(perf: pd.DataFrame | None, k: int) -> SectionHtml:
    """Impressions, clicks, CTR and reach per ad campaign."""
    sid = "campaigns"
    if perf is None:
        return _missing(sid, "No campaign data yet: gold.campaign_performance is written by `flywheel features`.")
    view = data.campaign_summary(perf, k)
    rows = view.rows
    if rows.empty:
        body = note("No campaign day reached enough people to be shown.") + _hidden(view.hidden, "campaign-days", k)
        return section(sid, SECTIONS[sid], body, state="empty")
    fig = new_figure()
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    ax.bar(x, rows["ctr"].fillna(0.0) * 100, color="#2f6db5")
    ax.set_xticks(x, rows["campaign_id"].tolist())
    ax.set_ylabel("CTR (%)")
    ax2 = ax.twinx()
    ax2.plot(x, rows["impressions"], color="#e0a100", marker="o", label="impressions")
    ax2.set_ylabel("impressions")
    ax2.legend(fontsize=8, loc="upper right")
    body = figure(fig, "Click-through rate (bars) and impressions (line) per campaign", name="campaign-ctr")
    body += table(
        rows,
        [
            ("campaign_id", "campaign", "text"),
            ("days", "days", "int"),
            ("impressions", "impressions", "int"),
            ("clicks", "clicks", "int"),
            ("ctr", "CTR", "pct"),
            ("peak_daily_reach", "peak daily reach", "int"),
            ("mean_frequency", "mean frequency", "num"),
        ],
        metric=lambda r, c: f"campaign:{r['campaign_id']}:{c}" if c != "campaign_id" else None,
        table_id="campaign-table",
    )
    body += note("CTR = clicks / impressions over the campaign's published days; reach is people per day.")
    return section(sid, SECTIONS[sid], body + _hidden(view.hidden, "campaign-days", k))


def communities(comms: pd.DataFrame | None, centrality: pd.DataFrame | None, k: int) -> SectionHtml:
    """Community sizes and the most central people (pseudonymous ids only)."""
    sid = "communities"
    if comms is None or centrality is None:
        return _missing(sid, "No graph results yet: gold.graph_communities is written by `flywheel graph`.")
    view = data.community_view(comms, k)
    rows = view.rows
    if rows.empty:
        body = note("No community has enough members to be shown.") + _hidden(view.hidden, "communities", k)
        return section(sid, SECTIONS[sid], body, state="empty")
    first = rows.iloc[0]
    body = headline(
        [
            ("communities shown", len(rows), "int", "communities:shown"),
            ("largest community", int(first["size"]), "int", "community:largest:size"),
            ("modularity", float(first["modularity"]), "num", "communities:modularity"),
        ]
    )
    fig = new_figure(8, 3.2)
    ax = fig.add_subplot()
    ax.bar([str(c) for c in rows["community"]], rows["size"], color="#2f6db5")
    ax.set_xlabel("community")
    ax.set_ylabel("members")
    body += figure(fig, f"Community sizes ({first['algorithm']})", name="community-sizes")
    shown = rows.copy()
    shown["influencers"] = pd.Series(
        [list(t)[:3] if t is not None else [] for t in rows["top_influencers"]], index=rows.index, dtype=object
    )
    body += table(
        shown,
        [("community", "community", "int"), ("size", "members", "int"), ("influencers", "top influencers", "code")],
        metric=lambda r, c: f"community:{r['community']}:size" if c == "size" else None,
        table_id="community-table",
    )
    top = data.top_influencers(centrality, rows["community"])
    body += "<h3>Most central people (PageRank on the follow graph)</h3>"
    body += table(
        top,
        [
            ("user_id", "person (pseudonymous id)", "code"),
            ("pagerank", "PageRank", "num"),
            ("in_degree", "followers", "int"),
            ("core_number", "k-core", "int"),
            ("community", "community", "int"),
        ],
        table_id="influencer-table",
    )
    return section(sid, SECTIONS[sid], body + _hidden(view.hidden, "communities", k))


def segments(segs: pd.DataFrame | None, k: int) -> SectionHtml:
    """Audience segment sizes, top categories and the features that separate them."""
    sid = "segments"
    if segs is None:
        return _missing(sid, "No segments yet: gold.segments is written by `flywheel features`.")
    view, means = data.segment_profiles(segs, k)
    rows = view.rows
    if rows.empty:
        body = note("No segment has enough people to be shown.") + _hidden(view.hidden, "segments", k)
        return section(sid, SECTIONS[sid], body, state="empty")
    body = ""
    if not means.empty:
        z = (means - means.mean()) / means.std(ddof=0).replace(0, 1.0)
        fig = new_figure(8, 0.8 + 0.35 * len(means))
        ax = fig.add_subplot()
        im = ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
        ax.set_xticks(np.arange(len(means.columns)), list(means.columns), rotation=30, ha="right", fontsize=8)
        ax.set_yticks(np.arange(len(means)), [f"segment {s}" for s in means.index], fontsize=8)
        fig.colorbar(im, ax=ax, label="z across segments")
        body += figure(fig, "Segment means of the most distinguishing features", name="segment-profiles")
    shown = rows.copy()
    shown["categories"] = pd.Series(
        [list(c) if c is not None else [] for c in rows["top_categories"]], index=rows.index, dtype=object
    )
    for col in means.columns:
        shown[col] = shown["segment"].map(means[col])
    cols: list[tuple[str, str, str]] = [
        ("segment", "segment", "int"),
        ("users", "people", "int"),
        ("categories", "top categories", "text"),
    ]
    cols += [(c, c, "num") for c in means.columns]
    body += table(
        shown,
        cols,
        metric=lambda r, c: f"segment:{r['segment']}:users" if c == "users" else None,
        table_id="segment-table",
    )
    return section(sid, SECTIONS[sid], body + _hidden(view.hidden, "segments", k))


def model_metrics(evaluation: pd.DataFrame | None, run: dict[str, Any] | None) -> SectionHtml:
    """The latest training run's test-split table: two-tower vs most-popular vs iALS."""
    sid = "model-metrics"
    if run is None or evaluation is None or evaluation.empty:
        return _missing(
            sid,
            "No training run has been recorded in MLflow yet, so there is nothing to compare. "
            "Run `flywheel train` (two-tower against most-popular and iALS baselines).",
        )
    test = evaluation[evaluation["split"] == "test"] if "split" in evaluation else evaluation
    test = test.sort_values(["k", "model"], kind="stable").reset_index(drop=True)
    models = list(dict.fromkeys(test["model"]))
    ks = sorted(int(x) for x in set(test["k"]))
    fig = new_figure()
    ax = fig.add_subplot()
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        part = test[test["model"] == model].set_index("k")
        ax.bar(np.arange(len(ks)) + i * width, [float(part.loc[kk, "recall"]) for kk in ks], width, label=model)
    ax.set_xticks(np.arange(len(ks)) + width * (len(models) - 1) / 2, [f"Recall@{kk}" for kk in ks])
    ax.set_ylabel("recall (test split)")
    ax.legend(fontsize=8)
    body = note(f"MLflow run {run['run_name']} ({run['run_id']}), started {run['start_time']}.")
    pick = test[test["k"] == (50 if 50 in ks else ks[-1])]
    heads = [
        (f"{m} recall@{int(r['k'])}", float(r["recall"]), "num", f"model:{m}:recall_at_{int(r['k'])}:headline")
        for m, r in zip(pick["model"], pick.to_dict("records"), strict=True)
    ]
    body += headline(heads)
    body += figure(fig, "Test-split recall of the two-tower model and its baselines", name="model-recall")
    cols = [("model", "model", "text"), ("k", "K", "int")]
    cols += [(c, c, "num") for c in ("recall", "ndcg", "coverage", "pop_percentile", "gini") if c in test]
    body += table(
        test,
        cols,
        metric=lambda r, c: f"model:{r['model']}:{c}_at_{int(r['k'])}" if c not in ("model", "k") else None,
        table_id="model-table",
    )
    return section(sid, SECTIONS[sid], body)


def fairness(fair: pd.DataFrame | None, recs: pd.DataFrame | None, k: int) -> SectionHtml:
    """Exposure by creator tier and popularity decile, Gini and coverage of the latest recommendations."""
    sid = "fairness"
    if fair is None or fair.empty:
        what = "gold.recommendations exists but has not been measured" if recs is not None else "no recommendations"
        return _missing(
            sid,
            f"Recommendation fairness is not available yet ({what}): gold.recommendation_fairness is written "
            "with every `flywheel recommend` run.",
        )
    rows, hidden = data.fairness_view(fair, k)
    latest = fair.sort_values(["generated_at", "model_version"], kind="stable").iloc[-1]
    version = str(latest["model_version"])
    heads = [
        ("Gini of exposure (all items)", float(latest["gini_exposure"]), "num", "fairness:gini_exposure"),
        ("catalogue coverage", float(latest["catalogue_coverage"]), "pct", "fairness:catalogue_coverage"),
    ]
    if recs is not None and not recs.empty:
        mine = recs[recs["model_version"] == version]
        heads.append(("people with recommendations", mine["user_id"].nunique(), "int", "fairness:users"))
        heads.append(
            ("from the model (not fallback)", float((mine["source"] == "model").mean()), "pct", "fairness:model_share")
        )
    generated = pd.Timestamp(latest["generated_at"]).strftime("%Y-%m-%d %H:%M")
    body = note(f"Model version {version}, recommendations generated {generated} UTC.") + headline(heads)
    fig = new_figure(9, 3.4)
    for i, (dim, label) in enumerate(
        (("creator_tier", "creator tier"), ("popularity_decile", "item popularity decile"))
    ):
        ax = fig.add_subplot(1, 2, i + 1)
        part = rows[rows["dimension"] == dim]
        x = np.arange(len(part))
        ax.bar(x - 0.2, part["exposure_share"], 0.4, label="exposure share", color="#2f6db5")
        ax.bar(x + 0.2, part["catalogue_share"], 0.4, label="catalogue share", color="#b8c0cc")
        ax.set_xticks(x, part["group_key"].tolist(), fontsize=8)
        ax.set_xlabel(label)
        ax.legend(fontsize=7)
    body += figure(fig, "Position-discounted exposure share vs share of the catalogue", name="fairness-exposure")
    body += table(
        rows[rows["dimension"] != "overall"],
        [
            ("dimension", "dimension", "text"),
            ("group_key", "group", "text"),
            ("items", "items", "int"),
            ("creators", "creators", "int"),
            ("users", "recipients", "int"),
            ("impression_share", "impression share", "pct"),
            ("exposure_share", "exposure share", "pct"),
            ("catalogue_share", "catalogue share", "pct"),
        ],
        metric=lambda r, c: (
            f"fairness:{r['dimension']}:{r['group_key']}:{c}" if c in ("exposure_share", "impression_share") else None
        ),
        table_id="fairness-table",
    )
    body += note(
        "Exposure weights a recommendation at rank r by 1/log2(r+1). Creator tiers: emerging below the median "
        "follower count, established up to the 90th percentile, top above. Groups of fewer than k creators, or "
        "received by 1 to k-1 people, are hidden."
    )
    return section(sid, SECTIONS[sid], body + _hidden(hidden, "groups", k))

"""One function per report section: frames in, the section's figures, tables and state out, rendered by its template.

Each section has ``templates/sections/<id>.html.j2``; the Python here decides what is shown (and the state), the
template how.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from socialflywheel.config.stages import FairnessThresholds
from socialflywheel.report import data
from socialflywheel.report.community_map import abouts, community_map
from socialflywheel.report.data import wilson
from socialflywheel.report.html import (
    Plot,
    SectionHtml,
    SectionState,
    figure,
    headline,
    new_figure,
    render_section,
    table,
)
from socialflywheel.report.sentiment_time import sentiment_over_time

SECTIONS = {
    "engagement": "Engagement: active people, funnel and retention",
    "trending-hashtags": "Trending hashtags over time",
    "federated-trends": "Trends found privately: federated discovery from device reports",
    "sentiment": "Sentiment by category and over time",
    "campaigns": "Campaign performance",
    "communities": "Communities and top influencers",
    "segments": "Audience segment profiles",
    "model-metrics": "Recommender metrics against baselines",
    "fairness": "Recommendation exposure and fairness",
    "people-you-may-know": "People you may know: suggestions against the follows made next",
    "account-risk": "Account risk: bot and spam signals",
    "data-quality": "Data quality: reconciliation, quarantine and freshness",
}
"""Section ids (stable: tests and links use them) and their headings, in page order."""


def render_by_id(section_id: str, state: SectionState = "ok", **context: object) -> SectionHtml:
    """Render ``templates/sections/<section_id>.html.j2`` under the section's heading, in the given state."""
    return render_section(
        f"sections/{section_id}.html.j2", section_id=section_id, title=SECTIONS[section_id], state=state, **context
    )


def trends(trends_df: pd.DataFrame | None, scores: pd.DataFrame | None, k: int) -> SectionHtml:
    """Detected hashtag trends and their burst scores over time."""
    sid = "trending-hashtags"
    if trends_df is None or scores is None:
        return render_by_id(sid, "missing")
    shown, series = data.trend_view(trends_df, scores, k)
    rows = shown.rows
    detected = headline([("trends detected", len(trends_df), "int", "trends:detected")])
    if rows.empty:
        return render_by_id(sid, "empty", detected=detected, hidden=shown.hidden, k=k)
    plot = _trend_plot(series)
    trends_table = table(
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
    return render_by_id(sid, detected=detected, plot=plot, trends=trends_table, hidden=shown.hidden, k=k)


_BUCKET = {"hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1)}


def _with_gaps(part: pd.DataFrame, step: pd.Timedelta) -> pd.DataFrame:
    """The series with a blank row after each bucket whose next one is missing, so a line never bridges a gap."""
    after = part["bucket_start"].diff().shift(-1) > step
    blanks = part.loc[after, ["bucket_start"]].assign(bucket_start=lambda f: f["bucket_start"] + step)
    return pd.concat([part, blanks]).sort_values("bucket_start", kind="stable")


def _trend_plot(series: pd.DataFrame) -> Plot:
    """Uses per bucket against each tag's baseline band (baseline +- 2 sqrt, Poisson), hourly and daily apart."""
    grains = [g for g in ("hour", "day") if g in set(series["granularity"])]
    fig = new_figure(8, 3.0 * len(grains))
    for i, gran in enumerate(grains, 1):
        ax = fig.add_subplot(len(grains), 1, i)
        for tag, part in series[series["granularity"] == gran].groupby("hashtag", sort=True):
            gapped = _with_gaps(part, _BUCKET[gran])
            t, base = gapped["bucket_start"], gapped["baseline"].astype(float)
            (line,) = ax.plot(t, gapped["uses"].astype(float), marker="o", ms=3, label=f"#{tag}")
            spread = 2 * np.sqrt(base.clip(lower=0))
            ax.fill_between(t, (base - spread).clip(lower=0), base + spread, color=line.get_color(), alpha=0.15)
        ax.set_ylabel(f"posts per {gran}")
        name = {"hour": "Hourly", "day": "Daily"}[gran]
        ax.set_title(f"{name} buckets: uses (line) and the tag's expected range (band)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.tick_params(axis="x", labelsize=7)
    fig.autofmt_xdate()
    cols = ["hashtag", "granularity", "bucket_start", "uses", "baseline"]
    return figure(
        fig, "Uses of the strongest trending hashtags against their baseline", name="trend-scores", data=series[cols]
    )


def sentiment(aggregates: pd.DataFrame | None, k: int, *, hashtags: Sequence[str] = ()) -> SectionHtml:
    """VADER sentiment shares and mean compound per post category, and over time per category and hashtag."""
    sid = "sentiment"
    if aggregates is None:
        return render_by_id(sid, "missing")
    view = data.sentiment_by_category(aggregates, k)
    rows = view.rows
    if rows.empty:
        return render_by_id(sid, "empty", hidden=view.hidden, k=k)
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
    mix = rows[["category", "items", "positive", "neutral", "negative"]]
    plot = figure(fig, "Sentiment mix of posts and comments per category", name="sentiment-by-category", data=mix)
    categories = table(
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
    over_time = sentiment_over_time(aggregates, k, hashtags=hashtags)
    return render_by_id(sid, plot=plot, over_time=over_time, categories=categories, hidden=view.hidden, k=k)


def campaigns(perf: pd.DataFrame | None, k: int) -> SectionHtml:
    """Impressions, clicks, CTR and reach per ad campaign."""
    sid = "campaigns"
    if perf is None:
        return render_by_id(sid, "missing")
    view = data.campaign_summary(perf, k)
    rows = view.rows
    if rows.empty:
        return render_by_id(sid, "empty", hidden=view.hidden, k=k)
    rows = rows.assign(**wilson(rows["clicks"], rows["impressions"]))
    fig = new_figure()
    ax = fig.add_subplot()
    x = np.arange(len(rows))
    ctr = rows["ctr"].fillna(0.0) * 100
    err = np.vstack([ctr - rows["ctr_low"].fillna(0.0) * 100, rows["ctr_high"].fillna(0.0) * 100 - ctr])
    ax.bar(x, ctr, color="#2f6db5", yerr=err, capsize=4, ecolor="#333")
    ax.set_xticks(x, rows["campaign_id"].tolist())
    ax.set_ylabel("CTR (%), 95% Wilson interval")
    ax2 = ax.twinx()
    ax2.plot(x, rows["impressions"], color="#e0a100", marker="o", label="impressions")
    ax2.set_ylabel("impressions")
    ax2.legend(fontsize=8, loc="upper right")
    drawn = rows[["campaign_id", "impressions", "clicks", "ctr", "ctr_low", "ctr_high"]]
    plot = figure(fig, "Click-through rate (bars) and impressions (line) per campaign", name="campaign-ctr", data=drawn)
    campaign_table = table(
        rows,
        [
            ("campaign_id", "campaign", "text"),
            ("days", "days", "int"),
            ("impressions", "impressions", "int"),
            ("clicks", "clicks", "int"),
            ("ctr", "CTR", "pct"),
            ("ctr_low", "CTR 95% low", "pct"),
            ("ctr_high", "CTR 95% high", "pct"),
            ("peak_daily_reach", "peak daily reach", "int"),
            ("mean_frequency", "mean frequency", "num"),
        ],
        metric=lambda r, c: f"campaign:{r['campaign_id']}:{c}" if c != "campaign_id" else None,
        table_id="campaign-table",
    )
    return render_by_id(sid, plot=plot, campaigns=campaign_table, hidden=view.hidden, k=k)


def communities(
    comms: pd.DataFrame | None,
    centrality: pd.DataFrame | None,
    k: int,
    graph: pd.DataFrame | None = None,
    handles: dict[str, str] | None = None,
) -> SectionHtml:
    """Community sizes, the community graph, central people (by silver.public_handles' handle, else pseudonym)."""
    name = (handles or {}).get
    sid = "communities"
    if comms is None or centrality is None:
        return render_by_id(sid, "missing")
    view = data.community_view(comms, k)
    rows = view.rows
    if rows.empty:
        return render_by_id(sid, "empty", hidden=view.hidden, k=k)
    first = rows.iloc[0]
    summary = headline(
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
    caption = f"Community sizes ({first['algorithm']})"
    plot = figure(fig, caption, name="community-sizes", data=rows[["community", "size"]])
    shown = rows.copy()
    shown["influencers"] = pd.Series(
        [[name(u, u) for u in list(t)[:3]] if t is not None else [] for t in rows["top_influencers"]],
        index=rows.index,
        dtype=object,
    )
    shown["about"] = abouts(graph, rows["community"])
    cols = [("community", "community", "int"), ("size", "members", "int"), ("about", "about", "text")]
    community_table = table(
        shown,
        [*cols, ("influencers", "top influencers", "code")],
        metric=lambda r, c: f"community:{r['community']}:size" if c == "size" else None,
        table_id="community-table",
    )
    central = data.top_influencers(centrality, rows["community"])
    influencers = table(
        central.assign(user_id=[name(u, u) for u in central["user_id"]]),
        [
            ("user_id", "person (handle, else pseudonymous id)", "code"),
            ("pagerank", "PageRank", "num"),
            ("in_degree", "followers", "int"),
            ("core_number", "k-core", "int"),
            ("community", "community", "int"),
        ],
        table_id="influencer-table",
    )
    return render_by_id(
        sid,
        summary=summary,
        plot=plot,
        map_plot=community_map(rows, graph),
        communities=community_table,
        influencers=influencers,
        hidden=view.hidden,
        k=k,
    )


def segments(segs: pd.DataFrame | None, k: int) -> SectionHtml:
    """Audience segment sizes, top categories and the features that separate them."""
    sid = "segments"
    if segs is None:
        return render_by_id(sid, "missing")
    view, means = data.segment_profiles(segs, k)
    rows = view.rows
    if rows.empty:
        return render_by_id(sid, "empty", hidden=view.hidden, k=k)
    plot: Plot | None = None
    tops = {int(s): list(c) if c is not None else [] for s, c in zip(rows.segment, rows.top_categories, strict=True)}
    names = data.segment_names(means, tops)
    units = {c: data.readable_feature(str(c), 0.0)[0] for c in means.columns}
    readable = means.apply(lambda col: col.map(lambda v: data.readable_feature(str(col.name), float(v))[1]))
    if not means.empty:
        z = (means - means.mean()) / means.std(ddof=0).replace(0, 1.0)
        fig = new_figure(8, 0.8 + 0.35 * len(means))
        ax = fig.add_subplot()
        im = ax.imshow(z.to_numpy(dtype=float), cmap="RdBu_r", vmin=-2, vmax=2, aspect="auto")
        ax.set_xticks(np.arange(len(means.columns)), list(units.values()), rotation=30, ha="right", fontsize=8)
        ax.set_yticks(np.arange(len(means)), [f"{s}: {names[int(s)]}" for s in means.index], fontsize=8)
        fig.colorbar(im, ax=ax, label="z across segments")
        caption = "Segment means of the most distinguishing features"
        drawn = readable.rename(columns=units).rename_axis("segment").reset_index()
        plot = figure(fig, caption, name="segment-profiles", data=drawn.assign(name=drawn["segment"].map(names)))
    shown = rows.copy()
    shown["name"] = shown["segment"].map(names)
    shown["categories"] = pd.Series(
        [list(c) if c is not None else [] for c in rows["top_categories"]], index=rows.index, dtype=object
    )
    for col in means.columns:
        shown[col] = shown["segment"].map(readable[col])
    cols: list[tuple[str, str, str]] = [
        ("segment", "segment", "int"),
        ("name", "name", "text"),
        ("users", "people", "int"),
        ("categories", "top categories", "text"),
    ]
    cols += [(c, units[c], data.readable_feature(str(c), 0.0)[2]) for c in means.columns]
    segment_table = table(
        shown,
        cols,
        metric=lambda r, c: f"segment:{r['segment']}:{c}" if c in ("users", "name") else None,
        table_id="segment-table",
    )
    return render_by_id(sid, plot=plot, segments=segment_table, hidden=view.hidden, k=k)


def fairness(
    fair: pd.DataFrame | None, recs: pd.DataFrame | None, k: int, thresholds: FairnessThresholds | None = None
) -> SectionHtml:
    """Exposure by creator tier and popularity decile, Gini and coverage of the latest recommendations.

    Checked against the configured limits (``report.fairness``) and against the version measured before.
    """
    sid = "fairness"
    if fair is None or fair.empty:
        return render_by_id(sid, "missing", recommendations_exist=recs is not None)
    checks = data.fairness_checks(fair, thresholds or FairnessThresholds(), k)
    check_table = table(
        checks,
        [
            ("check", "check", "text"),
            ("value", "this version", "num"),
            ("previous", "version before", "num"),
            ("change", "change", "num"),
            ("limit", "limit", "text"),
            ("verdict", "verdict", "text"),
        ],
        metric=lambda r, c: f"fairness-check:{r['metric']}:{c}" if c in ("value", "verdict") else None,
        table_id="fairness-checks",
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
    drawn = rows[rows["dimension"].isin(["creator_tier", "popularity_decile"])]
    drawn = drawn[["dimension", "group_key", "exposure_share", "catalogue_share"]]
    caption = "Position-discounted exposure share vs share of the catalogue"
    plot = figure(fig, caption, name="fairness-exposure", data=drawn)
    groups = table(
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
    return render_by_id(
        sid,
        model_version=version,
        generated=generated,
        checks=check_table,
        breached=int((checks["verdict"] == "breached").sum()),
        summary=headline(heads),
        plot=plot,
        groups=groups,
        hidden=hidden,
        k=k,
    )

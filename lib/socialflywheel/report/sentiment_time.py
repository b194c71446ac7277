"""Sentiment over time: daily mean compound per post category and per trending hashtag (gold.sentiment_aggregates).

A group-day of fewer than k distinct people is left out (a gap in its line), as everywhere in the report.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from socialflywheel.report.html import Plot, figure, new_figure

LINES = 6
"""Most lines per panel: the groups with the most texts."""


def daily_sentiment(aggregates: pd.DataFrame, k: int, *, hashtags: Sequence[str] = ()) -> pd.DataFrame:
    """The lines drawn: the top categories by texts and the given (trending) hashtags, per day.

    Columns ``group_type, group_key, day, items, mean_compound``; group-days of at least ``k`` people only.
    """
    kept = aggregates[aggregates["users"] >= k]
    cats = kept[kept["group_type"] == "category"]
    top = cats.groupby("group_key")["items"].sum().sort_values(ascending=False, kind="stable").head(LINES).index
    tags = kept[(kept["group_type"] == "hashtag") & kept["group_key"].isin(list(hashtags)[:LINES])]
    out = pd.concat([cats[cats["group_key"].isin(top)], tags])
    cols = ["group_type", "group_key", "day", "items", "mean_compound"]
    return out[cols].sort_values(["group_type", "group_key", "day"], kind="stable").reset_index(drop=True)


def sentiment_over_time(aggregates: pd.DataFrame, k: int, *, hashtags: Sequence[str] = ()) -> Plot | None:
    """Daily mean compound, one panel for categories and one for trending hashtags (when any is shown)."""
    lines = daily_sentiment(aggregates, k, hashtags=hashtags)
    if lines.empty:
        return None
    panels = [(t, label) for t, label in (("category", "category"), ("hashtag", "trending hashtag"))
              if (lines["group_type"] == t).any()]  # fmt: skip
    fig = new_figure(8, 2.6 * len(panels))
    for i, (kind, label) in enumerate(panels, 1):
        ax = fig.add_subplot(len(panels), 1, i)
        for key, part in lines[lines["group_type"] == kind].groupby("group_key", sort=True):
            days = pd.to_datetime(part["day"])
            full = pd.date_range(days.min(), days.max(), freq="D")  # a hidden or missing day is a gap, not a bridge
            series = pd.Series(part["mean_compound"].to_numpy(), index=days).reindex(full)
            ax.plot(series.index, series.to_numpy(), marker="o", ms=2, label=f"#{key}" if kind == "hashtag" else key)
        ax.axhline(0, color="#999", linewidth=0.6)
        ax.set_ylabel("mean compound")
        ax.set_title(f"Per {label} and day (VADER compound, -1 negative .. +1 positive)", fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        ax.tick_params(axis="x", labelsize=7)
    fig.autofmt_xdate()
    return figure(fig, "Sentiment over time per category and trending hashtag", name="sentiment-over-time", data=lines)

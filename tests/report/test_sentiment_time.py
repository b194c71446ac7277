"""Sentiment over time per category and trending hashtag (#19), on planted gold.sentiment_aggregates rows."""

from __future__ import annotations

import base64
import io

import pandas as pd

from socialflywheel.report.sentiment_time import LINES, daily_sentiment, sentiment_over_time

K = 10


def _rows() -> pd.DataFrame:
    rows = []
    for d in range(5):
        day = pd.Timestamp("2026-11-01") + pd.Timedelta(days=d)
        for i in range(LINES + 2):  # more categories than lines: the smallest are left out
            users = K - 1 if (i == 0 and d == 2) else 50  # one category-day under k: a gap
            rows.append(("category", f"cat{i}", day, 200 - 20 * i, (i - 3) / 10, users))
        rows.append(("hashtag", "trend", day, 30, 0.5, 40))
        rows.append(("hashtag", "quiet", day, 30, -0.5, 40))  # not trending: not drawn
    return pd.DataFrame(rows, columns=["group_type", "group_key", "day", "items", "mean_compound", "users"])


def test_lines_are_the_top_categories_and_the_trending_hashtags_without_small_days() -> None:
    lines = daily_sentiment(_rows(), K, hashtags=["trend"])
    cats = lines[lines["group_type"] == "category"]
    assert sorted(set(cats["group_key"])) == [f"cat{i}" for i in range(LINES)]
    assert len(cats[cats["group_key"] == "cat0"]) == 4  # the day under k is a gap
    assert set(lines[lines["group_type"] == "hashtag"]["group_key"]) == {"trend"}


def test_the_figure_carries_exactly_its_lines_as_csv() -> None:
    plot = sentiment_over_time(_rows(), K, hashtags=["trend"])
    assert plot is not None and plot.name == "sentiment-over-time"
    data = pd.read_csv(io.BytesIO(base64.b64decode(plot.csv_base64)))
    assert len(data) == len(daily_sentiment(_rows(), K, hashtags=["trend"]))
    assert sentiment_over_time(_rows().assign(users=K - 1), K) is None  # everything under k: no figure

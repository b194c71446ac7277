"""Report aggregations on hand-made frames: k-suppression before summing, CTR and means by hand, escaping."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from socialflywheel.lake.catalog import CATALOG
from socialflywheel.report import data, models, sections
from socialflywheel.report.html import cell, environment, page, table

K = 10


def test_suppress_drops_small_and_null_groups() -> None:
    df = pd.DataFrame({"g": ["a", "b", "c", "d"], "users": [9, 10, 25, None]})
    kept = data.suppress(df, "users", K)
    assert kept.rows["g"].tolist() == ["b", "c"] and kept.hidden == 2


def test_campaign_summary_sums_published_days_only() -> None:
    perf = pd.DataFrame(
        {
            "campaign_id": ["c1", "c1", "c1", "c2"],
            "day": [dt.date(2026, 10, d) for d in (1, 2, 3, 1)],
            "impressions": [100, 50, 400, 20],
            "clicks": [3, 2, 40, 1],
            "reach": [80, 40, 9, 12],  # c1 on day 3 reached 9 people: hidden, never summed
            "frequency": [1.25, 1.25, 44.4, 1.0 + 2 / 3],
        }
    )
    view = data.campaign_summary(perf, K)
    c1 = view.rows.set_index("campaign_id").loc["c1"]
    assert view.hidden == 1 and (c1.impressions, c1.clicks, c1.days, c1.peak_daily_reach) == (150, 5, 2, 80)
    assert c1.ctr == pytest.approx(5 / 150) and c1.mean_frequency == pytest.approx(1.25)
    assert view.rows["campaign_id"].tolist() == ["c1", "c2"]  # most impressions first


def test_sentiment_by_category_weights_mean_by_items() -> None:
    agg = pd.DataFrame(
        {
            "group_type": ["category", "category", "category", "hashtag"],
            "group_key": ["music", "music", "pets", "music"],
            "day": [dt.date(2026, 10, 1), dt.date(2026, 10, 2), dt.date(2026, 10, 1), dt.date(2026, 10, 1)],
            "items": [30, 10, 12, 99],
            "positive": [15, 2, 6, 0],
            "negative": [5, 6, 2, 0],
            "neutral": [10, 2, 4, 99],
            "mean_compound": [0.4, -0.4, 0.1, 0.0],
            "users": [20, 10, 5, 50],  # pets: 5 people, hidden
        }
    )
    view = data.sentiment_by_category(agg, K)
    assert view.hidden == 1 and view.rows["category"].tolist() == ["music"]
    music = view.rows.iloc[0]
    assert music["items"] == 40 and music.mean_compound == pytest.approx((30 * 0.4 - 10 * 0.4) / 40)
    assert music.positive_share == pytest.approx(17 / 40)


def test_communities_and_influencers_leave_small_communities_out() -> None:
    comms = pd.DataFrame({"community": [0, 1, 2], "size": [40, 9, 12], "modularity": [0.5] * 3})
    view = data.community_view(comms, K)
    assert view.rows["community"].tolist() == [0, 2] and view.hidden == 1
    cent = pd.DataFrame(
        {
            "user_id": ["pa", "pb", "pc"],
            "pagerank": [0.3, 0.5, 0.2],
            "in_degree": [3, 5, 2],
            "core_number": [1, 1, 1],
            "community": [0, 1, 2],
            "rank_in_community": [1, 1, 1],
        }
    )
    assert data.top_influencers(cent, view.rows["community"])["user_id"].tolist() == ["pa", "pc"]


def test_fairness_view_keeps_latest_version_and_hides_small_groups() -> None:
    base = {"dimension": "creator_tier", "exposure_share": 0.1, "catalogue_share": 0.1}
    rows = [
        {
            **base,
            "model_version": "1",
            "generated_at": dt.datetime(2026, 1, 1),
            "group_key": "top",
            "creators": 50,
            "users": 40,
        },
        {
            **base,
            "model_version": "2",
            "generated_at": dt.datetime(2026, 1, 2),
            "group_key": "top",
            "creators": 50,
            "users": 40,
        },
        {
            **base,
            "model_version": "2",
            "generated_at": dt.datetime(2026, 1, 2),
            "group_key": "emerging",
            "creators": 50,
            "users": 0,
        },
        {
            **base,
            "model_version": "2",
            "generated_at": dt.datetime(2026, 1, 2),
            "group_key": "established",
            "creators": 50,
            "users": 3,
        },
        {
            **base,
            "model_version": "2",
            "generated_at": dt.datetime(2026, 1, 2),
            "group_key": "unknown",
            "creators": 2,
            "users": 40,
        },
    ]
    shown, hidden = data.fairness_view(pd.DataFrame(rows), K)
    assert shown["group_key"].tolist() == ["top", "emerging"] and set(shown["model_version"]) == {"2"}
    assert hidden == 2


def test_section_state_is_carried_not_parsed() -> None:
    """Each section returns its state with its HTML (the job once regexed ``data-state`` back out of it)."""
    assert sections.trends(None, None, K).state == "missing"
    empty = pd.DataFrame(columns=CATALOG["gold.segments"].column_names)
    assert sections.segments(empty, K).state == "empty"
    missing_eval = models.model_metrics(None, None)
    assert missing_eval.state == "missing" and 'data-state="missing"' in missing_eval


def test_html_escapes_and_tags_metrics() -> None:
    components = environment().get_template("components.html.j2").module
    html = components.table(  # type: ignore[attr-defined]
        table(
            pd.DataFrame({"name": ["<script>x</script>"], "ctr": [0.125]}),
            [("name", "name", "text"), ("ctr", "CTR", "pct")],
            metric=lambda r, c: f"campaign:{r['name']}:{c}" if c == "ctr" else None,
        )
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'data-value="0.125">12.50%</td>' in html
    assert components.cell(cell(None)) == "<td>–</td>"  # type: ignore[attr-defined]
    assert cell(0.125, "pct", metric="m").value == "0.125" and cell(float("nan")).text == "–"


def test_missing_inputs_render_plain_missing_sections() -> None:
    parts = [
        sections.trends(None, None, K),
        models.model_metrics(None, None),
        sections.fairness(None, None, K),
    ]
    doc = page("t", "s", [(f"s{i}", "x", p) for i, p in enumerate(parts)])
    assert doc.count('data-state="missing"') == 3
    assert "No training run has been recorded in MLflow yet" in doc and "http" not in doc

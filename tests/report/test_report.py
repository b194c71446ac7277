"""The report on the tiny lake after features and graph (then train, recommend and fairness when present),
checked in the HTML and in headless Chromium: every section visible, every image decoded, nothing
fetched from the network, and figures equal to the gold tables and the MLflow run they came from."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import markupsafe
import pandas as pd
import pyarrow as pa
import pytest

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.catalog import CATALOG
from socialflywheel.lake.io import Lake
from socialflywheel.report.sections import SECTIONS
from socialflywheel.tracking import Tracking
from tests.browser import chromium, screenshot
from tests.conftest import copy_lake, make_config
from tests.jobs import TRAIN_SMALL, recommend, train


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, tiny_lake: tuple[FlywheelConfig, Lake], spark: Any
) -> dict[str, Any]:
    from socialflywheel.features.job import run_features
    from socialflywheel.graph.job import run_graph
    from socialflywheel.recsys.fairness import build_fairness
    from socialflywheel.report.job import report_path, run_report

    root = tmp_path_factory.mktemp("report")
    cfg, lake = copy_lake(tiny_lake[0], root / "work")
    run_features(spark, lake, cfg.features, k=cfg.privacy.min_group_users, seed=cfg.seed)
    run_graph(spark, Lake.from_config(cfg), cfg.graph)
    # Before any model: a work dir with no MLflow store over the same lake.
    early_cfg = make_config(root / "early", f"lake.root={lake.root}")
    early = run_report(
        spark,
        Lake.from_config(early_cfg),
        out=report_path(early_cfg.report, early_cfg.work_path),
        tracking=Tracking.from_config(early_cfg),
        min_group_users=early_cfg.privacy.min_group_users,
    )
    cfg = make_config(cfg.work_path, "simulate.profile=tiny", *TRAIN_SMALL)
    out: dict[str, Any] = {"cfg": cfg, "early": early}
    out["trained"] = train(spark, cfg)
    recommend(spark, cfg)
    out["fairness"] = build_fairness(Lake.from_config(cfg))
    out["report"] = run_report(
        spark,
        Lake.from_config(cfg),
        out=report_path(cfg.report, cfg.work_path),
        tracking=Tracking.from_config(cfg),
        min_group_users=cfg.privacy.min_group_users,
    )
    out["html"] = Path(out["report"].path).read_text(encoding="utf-8")
    return out


def _metrics(html: str) -> dict[str, tuple[str, str]]:
    """data-metric -> (data-value, displayed text) of every tagged element."""
    pattern = r'data-metric="([^"]+)" data-value="([^"]*)">([^<]*)<'
    return {m: (v, t) for m, v, t in re.findall(pattern, html)}


def _gold(cfg: FlywheelConfig, name: str) -> pd.DataFrame:
    return Lake.from_config(cfg).read_arrow(name).to_pandas()


def test_report_is_self_contained_with_every_section(built: dict[str, Any]) -> None:
    html = built["html"]
    for sid in SECTIONS:
        assert f'<section id="{sid}"' in html
    assert "http://" not in html and "https://" not in html
    srcs = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert srcs and all(
        s.startswith(("data:image/png;base64,", "data:text/csv;charset=utf-8;base64,", "#")) for s in srcs
    )
    assert "<script" not in html and "<link" not in html and "@import" not in html
    states = built["report"].sections
    ok = ("engagement", "trending-hashtags", "sentiment", "campaigns", "communities", "segments", "account-risk")
    for sid in (*ok, "data-quality"):
        assert states[sid] == "ok", sid
    assert states["model-metrics"] == "ok" and states["fairness"] == "ok"
    # #16 item 4: the promotion decision and its reason, as the train run recorded them
    trained = built["trained"]
    verdict = "given" if trained.promoted else "not given"
    assert f'data-promotion="{trained.promoted}">Serving alias: {verdict}' in html
    assert str(markupsafe.escape(trained.promotion_reason)) in html


def test_report_before_any_model_says_so(built: dict[str, Any]) -> None:
    early = built["early"]
    assert early.sections["model-metrics"] == "missing" and early.sections["fairness"] == "missing"
    assert early.sections["communities"] == "ok" and early.mlflow_train_run_id is None
    text = Path(early.path).read_text(encoding="utf-8")
    assert "No training run has been recorded in MLflow yet" in text
    assert "Recommendation fairness is not available yet" in text


def test_figures_equal_gold_tables_and_small_groups_are_hidden(built: dict[str, Any]) -> None:
    cfg: FlywheelConfig = built["cfg"]
    k = cfg.privacy.min_group_users
    shown = _metrics(built["html"])
    perf = _gold(cfg, "gold.campaign_performance")
    published = perf[perf.reach >= k].groupby("campaign_id")[["clicks", "impressions"]].sum()
    assert len(published) >= 2
    for campaign, row in published.iterrows():
        value, text = shown[f"campaign:{campaign}:ctr"]
        assert float(value) == pytest.approx(row.clicks / row.impressions)
        assert text == f"{100 * row.clicks / row.impressions:.2f}%"
        assert int(shown[f"campaign:{campaign}:impressions"][0]) == row.impressions
        low, high = (float(shown[f"campaign:{campaign}:ctr_{end}"][0]) for end in ("low", "high"))
        assert low <= row.clicks / row.impressions <= high and low < high  # its 95% Wilson interval
    comms = _gold(cfg, "gold.graph_communities")
    assert int(shown["community:largest:size"][0]) == int(comms["size"].max())
    about = _gold(cfg, "gold.community_graph").set_index("community")  # the map's labels, as the graph job wrote
    nodes = _figure_csvs(built["html"])["community-map"].drop_duplicates("community")
    assert set(nodes["community"]) == set(comms[comms["size"] >= k]["community"])
    for c, text in zip(nodes["community"], nodes["about"].fillna(""), strict=True):
        assert text.startswith(", ".join(list(about.loc[c, "top_categories"])[:2]))
    sizes = {m: int(v) for m, (v, _) in shown.items() if re.fullmatch(r"community:\d+:size", m)}
    assert sorted(sizes.values(), reverse=True) == sorted(comms[comms["size"] >= k]["size"], reverse=True)
    assert min(sizes.values()) >= k
    segs = _gold(cfg, "gold.segments")
    seg_users = [int(v) for m, (v, _) in shown.items() if re.fullmatch(r"segment:\d+:users", m)]
    assert sorted(seg_users) == sorted(segs[segs.users >= k].users)
    seg_names = [v for m, (v, _) in shown.items() if re.fullmatch(r"segment:\d+:name", m)]
    assert len(seg_names) == len(seg_users) == len(set(seg_names)) and all(seg_names)  # each named, distinctly
    import mlflow

    run = mlflow.MlflowClient(tracking_uri=cfg.tracking_uri).get_run(built["trained"].mlflow_run_id)
    for model in ("two_tower", "most_popular", "ials"):
        value, _ = shown[f"model:{model}:recall_at_50"]
        assert float(value) == pytest.approx(run.data.metrics[f"test.{model}.recall_at_50"])
    fair = _gold(cfg, "gold.recommendation_fairness")
    assert float(shown["fairness:gini_exposure"][0]) == pytest.approx(fair.gini_exposure.iloc[0])
    limit = cfg.report.fairness.max_gini_exposure  # the configured limit, judged on the same figure
    verdict = "within" if fair.gini_exposure.iloc[0] <= limit else "breached"
    assert float(shown["fairness-check:gini:value"][0]) == pytest.approx(fair.gini_exposure.iloc[0])
    assert shown["fairness-check:gini:verdict"][0] == verdict
    assert float(shown["fairness:catalogue_coverage"][0]) == pytest.approx(fair.catalogue_coverage.iloc[0])
    top = fair[(fair.dimension == "creator_tier") & (fair.group_key == "top")].iloc[0]
    if top.creators >= k and not 0 < top.users < k:  # a group under k is suppressed, by design
        metric = "fairness:creator_tier:top:exposure_share"
        assert float(shown[metric][0]) == pytest.approx(top.exposure_share)


def _figure_csvs(html: str) -> dict[str, pd.DataFrame]:
    """data-figure -> its CSV download (decoded and parsed); a figure without one maps to None."""
    import base64
    import io

    out: dict[str, Any] = {}
    for name, body in re.findall(r'<figure data-figure="([^"]+)">(.*?)</figure>', html, flags=re.S):
        link = re.search(r'<a class="csv" download="([^"]+)" href="data:text/csv;charset=utf-8;base64,([^"]*)"', body)
        out[name] = (
            None
            if link is None or link.group(1) != f"{name}.csv"
            else pd.read_csv(io.BytesIO(base64.b64decode(link.group(2))))
        )
    return out


def test_every_chart_has_its_data_beside_it_as_csv(built: dict[str, Any]) -> None:
    """#19: each figure carries a CSV of what it draws, equal to the figures shown, nothing under k in it."""
    cfg: FlywheelConfig = built["cfg"]
    k = cfg.privacy.min_group_users
    csvs = _figure_csvs(built["html"])
    assert len(csvs) >= 8 and {"funnel", "campaign-ctr", "community-sizes", "model-recall"} <= set(csvs)
    assert all(df is not None and len(df) for df in csvs.values()), [n for n, df in csvs.items() if df is None]
    shown = _metrics(built["html"])
    for row in csvs["campaign-ctr"].to_dict("records"):
        assert row["ctr"] == pytest.approx(float(shown[f"campaign:{row['campaign_id']}:ctr"][0]))
    lines = csvs["sentiment-over-time"]  # every group-day drawn has at least k people in gold
    agg = _gold(cfg, "gold.sentiment_aggregates").assign(day=lambda f: f["day"].astype(str))
    people = {(t, g, d): u for t, g, d, u in agg[["group_type", "group_key", "day", "users"]].itertuples(index=False)}
    assert len(lines) and all(
        people[(t, g, str(d))] >= k for t, g, d in lines[["group_type", "group_key", "day"]].itertuples(index=False)
    )
    sizes = csvs["community-sizes"]
    assert sizes["size"].min() >= k
    assert {int(c): int(n) for c, n in zip(sizes["community"], sizes["size"], strict=True)} == {
        int(m.split(":")[1]): int(v) for m, (v, _) in shown.items() if re.fullmatch(r"community:\d+:size", m)
    }
    assert csvs["funnel"]["people"].min() >= k
    for row in csvs["model-recall"].to_dict("records"):
        assert row["recall"] == pytest.approx(float(shown[f"model:{row['model']}:recall_at_{row['k']}"][0]))


def test_registered_versions_come_from_the_registry(built: dict[str, Any]) -> None:
    """#19: the trained version's holdout Recall@50 as tagged in the registry, and the alias where it serves."""
    import mlflow

    from socialflywheel.recsys.registry import SCORE_TAG

    cfg: FlywheelConfig = built["cfg"]
    trained = built["trained"]
    tracking = Tracking.from_config(cfg)
    client = mlflow.MlflowClient(tracking_uri=cfg.tracking_uri)
    tag = client.get_model_version(tracking.registered_model, trained.model_version).tags[SCORE_TAG]
    shown = _metrics(built["html"])
    assert float(shown[f"version:{trained.model_version}:recall_at_50"][0]) == pytest.approx(float(tag))
    serving = shown[f"version:{trained.model_version}:serving"][0]
    assert serving == (tracking.serving_alias if trained.promoted else "")
    assert ('data-warning="serving-model"' in built["html"]) == (not trained.promoted)  # unpromoted: nobody serves


def test_account_risk_equals_the_gold_table_and_names_nobody(built: dict[str, Any]) -> None:
    """#19: accounts scored and flagged as in gold.account_risk, hidden under k; no pseudonym of it in the page."""
    cfg: FlywheelConfig = built["cfg"]
    k = cfg.privacy.min_group_users
    shown = _metrics(built["html"])
    risk = _gold(cfg, "gold.account_risk")
    assert int(shown["risk:accounts"][0]) == len(risk)
    flagged = int(risk["is_risky"].sum())
    if flagged == 0 or flagged >= k:
        assert int(shown["risk:flagged"][0]) == flagged
    else:  # 1..k-1 flagged accounts are a group under k: no figure
        assert shown["risk:flagged"][0] in ("", "None") and f"flagged: hidden (fewer than {k})" in built["html"]
    others = risk[~risk["is_risky"]]
    assert float(shown["risk:score:others"][0]) == pytest.approx(others["score"].median())
    section = built["html"].split('<section id="account-risk"')[1].split("</section>")[0]
    assert not any(u in section for u in risk["user_id"])


def test_influencers_are_named_by_handle_only_where_the_governed_mapping_has_one(
    built: dict[str, Any], tmp_path: Path
) -> None:
    """#19: after `flywheel handles` maps the most central person, the report names them by handle (influencer and
    community tables) and everyone else still by pseudonym."""
    from socialflywheel.privacy.handles import load_handles
    from socialflywheel.privacy.pseudonymize import pseudonym
    from socialflywheel.report.job import run_report

    cfg: FlywheelConfig = built["cfg"]
    lake, key = Lake.from_config(cfg), cfg.privacy.hmac_key()
    cent = _gold(cfg, "gold.graph_centrality").sort_values("pagerank", ascending=False)
    top, second = cent["user_id"].iloc[0], cent["user_id"].iloc[1]
    raw = next(u for u in set(_gold(cfg, "bronze.events")["user_id"]) if pseudonym(u, key) == top)
    mapping = tmp_path / "handles.csv"
    mapping.write_text(f"user_id,handle,basis\n{raw},topvoice,official\n", encoding="utf-8")
    load_handles(lake, mapping, key=key)
    try:
        again = run_report(
            None,
            Lake.from_config(cfg),
            out=tmp_path / "report.html",
            tracking=Tracking.from_config(cfg),
            min_group_users=cfg.privacy.min_group_users,
        )
        section = Path(again.path).read_text(encoding="utf-8").split('<section id="communities"')[1]
        section = section.split("</section>")[0]
        assert "@topvoice" in section and top not in section and second in section
    finally:
        Lake.from_config(cfg).write_arrow(
            pa.Table.from_pylist([], schema=CATALOG["silver.public_handles"].schema),
            "silver.public_handles",
            mode="overwrite",
        )  # the other tests read this lake: nobody mapped again


def test_engagement_and_data_quality_equal_direct_counts(built: dict[str, Any]) -> None:
    """#19: the KPI strip, the funnel and the batches table against counts made here from the lake's tables."""
    cfg: FlywheelConfig = built["cfg"]
    shown = _metrics(built["html"])
    events = _gold(cfg, "silver.events")[["user_id", "event_type", "ts"]]
    events["day"] = events["ts"].dt.tz_convert("UTC").dt.date if events["ts"].dt.tz else events["ts"].dt.date
    last = events["day"].max()
    assert float(shown["kpi:dau"][0]) == events.loc[events["day"] == last, "user_id"].nunique()
    week = events[events["day"] > last - dt.timedelta(days=7)]
    assert float(shown["kpi:wau"][0]) == week["user_id"].nunique()
    rate = week["event_type"].isin(["like", "comment", "share"]).sum() / (week["event_type"] == "view").sum()
    assert float(shown["kpi:engagement_rate"][0]) == pytest.approx(rate)
    people = {t: set(events.loc[events["event_type"].isin(ts), "user_id"]) for t, ts in
              (("view", ["view"]), ("engage", ["like", "comment"]), ("share", ["share"]))}  # fmt: skip
    shared = people["view"] & people["engage"] & people["share"]
    assert int(shown["funnel:viewed:people"][0]) == len(people["view"])
    assert int(shown["funnel:shared:people"][0]) == len(shared)
    first = events["day"].min()
    assert f"Data from {first} to {last} ({(last - first).days + 1} days)" in built["html"]
    for batch in _gold(cfg, "bronze.batches").to_dict("records"):
        for col in ("rows_in", "rows_new", "rows_present", "rows_quarantined"):
            assert int(shown[f"batch:{batch['batch_id']}:{col}"][0]) == batch[col]
    assert int(shown["fresh:silver.events:version"][0]) == Lake.from_config(cfg).version("silver.events")


@pytest.mark.browser
def test_report_in_headless_chromium(built: dict[str, Any], tmp_path: Path) -> None:
    path = Path(built["report"].path)
    requests: list[str] = []
    with chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri(), wait_until="load")
        for sid, title in SECTIONS.items():
            sec = page.locator(f"section#{sid}")
            assert sec.count() == 1 and sec.is_visible(), sid
            assert sec.locator("h2").inner_text().strip() == title
        images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
        ok_sections = [s for s, state in built["report"].sections.items() if state == "ok"]
        assert len(images) >= len(ok_sections)
        assert all(done and w > 0 and h > 0 for done, w, h in images), images
        largest = page.locator('[data-metric="community:largest:size"]').inner_text()
        comms = _gold(built["cfg"], "gold.graph_communities")
        assert int(largest) == int(comms["size"].max())
        assert screenshot(page, "report").stat().st_size > 10_000  # kept for people to look at
        for sid in ("engagement", "data-quality"):  # the new sections show their KPIs and tables
            assert page.locator(f"section#{sid} table").count() >= 2, sid
        assert page.locator('[data-metric="kpi:wau"]').inner_text().replace(",", "").isdigit()
    assert requests, "the page itself should have been requested"
    assert all(u.startswith(("file://", "data:")) for u in requests), requests

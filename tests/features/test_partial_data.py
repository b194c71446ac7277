"""The features job, its segments and the report on lakes that lack what the simulator always gives (issue #18).

Two hand-made platforms go through ingest, conform, features and the report: one where every optional event field
(category, country, device, text, hashtags, dwell_ms, campaign_id) is null or absent, as in a Twitter dump, and
one where every event has the same country, device, category, hashtag, text and campaign.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import random
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from tests.conftest import make_config

from socialflywheel.lake.catalog import CATALOG, EVENT_SCHEMA, spark_ddl
from socialflywheel.lake.io import Lake

START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
USERS = 30
K = 3  # the smallest publishable group: small, so a 30-person platform publishes segments
BLANK = dict.fromkeys(("category", "country", "device", "text", "hashtags", "dwell_ms", "campaign_id"))
UNIFORM = {
    "category": "news",
    "country": "DE",
    "device": "ios",
    "text": "what a lovely day",
    "hashtags": ["daily"],
    "dwell_ms": 4000,
    "campaign_id": "c1",
}
FEATURE_TABLES = sorted(name for name, t in CATALOG.items() if t.writer == "features")
# Tables made only from a field the blank platform lacks: written, typed, empty.
NEEDS_MISSING_FIELD = {
    "gold.hashtag_trends",
    "gold.hashtag_trend_scores",
    "gold.post_sentiment",
    "gold.sentiment_aggregates",
    "gold.campaign_performance",
}


def platform(fields: dict[str, Any], *, days: int = 8, seed: int = 3) -> list[dict[str, Any]]:
    """Posts, views, engagements, follows (and ad events when there is a campaign) of USERS people over ``days``.

    ``fields`` are set on every event; a None is written as JSON null on every other event and left out on the
    rest, so both forms of "missing" reach ingest.
    """
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    posts: list[tuple[str, dt.datetime]] = []

    def emit(kind: str, user: int, ts: dt.datetime, **kw: Any) -> None:
        e = {"event_id": f"e{len(out)}", "event_type": kind, "user_id": f"u{user}", "ts": ts.isoformat()} | kw
        for name, value in fields.items():
            if value is not None or len(out) % 2 == 0:
                e.setdefault(name, value)
        out.append(e)

    for d in range(days):
        for u in range(USERS):
            t = START + dt.timedelta(days=d, hours=8 + u % 12, minutes=rng.randrange(50))
            if rng.random() < 0.4:
                posts.append((f"p{len(posts)}", t))
                emit("post", u, t, post_id=posts[-1][0])
            for _ in range(3):
                post, created = rng.choice(posts[-20:] or [("", t)])
                if created >= t:
                    continue
                t += dt.timedelta(minutes=1)
                emit("view", u, t, post_id=post)
                if rng.random() < 0.5:
                    kind = rng.choice(["like", "share", "comment", "click"])
                    emit(kind, u, t + dt.timedelta(seconds=30), post_id=post)
            if rng.random() < 0.3:
                emit("follow", u, t + dt.timedelta(minutes=5), target_user_id=f"u{rng.randrange(USERS)}")
            if fields.get("campaign_id") is not None and rng.random() < 0.6:
                emit("ad_impression", u, t + dt.timedelta(minutes=7))
                if rng.random() < 0.3:
                    emit("ad_click", u, t + dt.timedelta(minutes=8))
    return out


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _build(spark: Any, root: Path, fields: dict[str, Any]) -> dict[str, Any]:
    """Land the platform, then ingest, conform, features and the report; what each gave and the warnings logged."""
    from socialflywheel.features.job import run_features
    from socialflywheel.ingest import run_conform, run_ingest
    from socialflywheel.report.job import run_report
    from socialflywheel.tracking import Tracking

    cfg = make_config(root)
    lake = Lake.from_config(cfg)
    landing = cfg.landing_dir / "events" / "date=2026-10-01" / "part-00000.jsonl"
    landing.parent.mkdir(parents=True)
    events = platform(fields)
    landing.write_text("".join(json.dumps(e) + "\n" for e in events))
    ingested = run_ingest(spark, lake, cfg.ingest, landing=cfg.landing_uri, privacy=cfg.privacy)
    assert ingested.rows_new == len(events) and ingested.rows_quarantined == 0
    run_conform(spark, lake, cfg.privacy)
    records = _Records()
    logging.getLogger("socialflywheel").addHandler(records)
    try:
        features = run_features(spark, lake, cfg.features, k=K, seed=cfg.seed)
    finally:
        logging.getLogger("socialflywheel").removeHandler(records)
    report = run_report(spark, lake, out=root / "report.html", tracking=Tracking.from_config(cfg), min_group_users=K)
    html = Path(report.path).read_text(encoding="utf-8")
    return {
        "lake": lake,
        "events": events,
        "features": features,
        "warnings": records.lines,
        "report": report,
        "html": html,
    }


@pytest.fixture(scope="module")
def blank(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build(spark, tmp_path_factory.mktemp("blank") / "work", BLANK)


@pytest.fixture(scope="module")
def uniform(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return _build(spark, tmp_path_factory.mktemp("uniform") / "work", UNIFORM)


def _null_typed(t: pa.DataType) -> bool:
    """Whether a type is null or holds a null type (in a list, map or struct)."""
    if pa.types.is_null(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _null_typed(t.value_type)
    if pa.types.is_map(t):
        return _null_typed(t.key_type) or _null_typed(t.item_type)
    if pa.types.is_struct(t):
        return any(_null_typed(t.field(i).type) for i in range(t.num_fields))
    return False


def _all_null_columns(data: pa.Table) -> set[str]:
    return {c for c in data.column_names if data.num_rows and data.column(c).null_count == data.num_rows}


def test_every_table_of_the_blank_lake_is_typed_and_holds_what_its_inputs_allow(blank: dict[str, Any]) -> None:
    """No column of NullType reaches Delta; every table is written; only those built from a missing field are empty;
    and the columns left all-null are exactly those whose source field is missing (category never is)."""
    from deltalake import DeltaTable

    lake: Lake = blank["lake"]
    assert blank["features"].mode == "full"
    nulls = {}
    for name in FEATURE_TABLES:
        assert lake.exists(name), name
        schema = pa.schema(DeltaTable(lake.path(name)).schema().to_arrow())
        assert not [f.name for f in schema if _null_typed(f.type)], name
        data = lake.read_arrow(name)
        assert (data.num_rows == 0) == (name in NEEDS_MISSING_FIELD), (name, data.num_rows)
        nulls[name] = _all_null_columns(data) - {"rebuilt_from"}  # the watermark's: null on a full run
    assert {n: c for n, c in nulls.items() if c} == {
        "gold.account_risk": {"dwell_geomean_ms"},
        "gold.user_features": {"dwell_mean", "dwell_p50", "dwell_p90"},
        "gold.training_examples": {"device", "dwell_ms"},
    }


def test_a_post_without_a_category_counts_as_unknown(blank: dict[str, Any]) -> None:
    lake: Lake = blank["lake"]
    assert set(lake.read_arrow("silver.posts", columns=["category"]).column("category").to_pylist()) == {None}
    assert blank["features"].categories == ["unknown"]
    mark = lake.read_arrow("gold.features_watermark").to_pylist()[0]
    assert mark["categories"] == ["unknown"] and mark["user_feature_names"][-1] == "affinity_unknown"
    for name in ("gold.item_features", "gold.training_examples"):
        assert set(lake.read_arrow(name, columns=["category"]).column("category").to_pylist()) == {"unknown"}, name
    users = lake.read_arrow("gold.user_features", columns=["event_counts", "category_affinity"]).to_pylist()
    for row in users:  # every engagement is with an 'unknown' post: its share is 1 once there is one
        engaged = sum(v for k, v in row["event_counts"] if k.split("_")[0] in ("like", "share", "comment", "click"))
        assert row["category_affinity"] == ([1.0] if engaged else [0.0])
    assert any(row["category_affinity"] == [1.0] for row in users)
    segments = lake.read_arrow("gold.segments").to_pylist()
    assert segments and all(s["top_categories"] == ["unknown"] for s in segments)
    assert "no post has a category: every post counts as 'unknown'" in "\n".join(blank["warnings"])


def test_each_missing_field_is_logged_once_with_what_the_job_did(blank: dict[str, Any]) -> None:
    from socialflywheel.features.coverage import USES

    assert blank["features"].missing == ["hashtags", "text", "dwell_ms", "device", "campaign_id"]
    said = [line for line in blank["warnings"] if line.startswith("features: no ")]
    assert said == [
        "features: no post has a category: every post counts as 'unknown'",
        *[f"features: {USES[f][1]}" for f in blank["features"].missing],
    ]


def test_account_risk_leaves_out_a_dwell_time_the_data_do_not_give(spark: Any, blank: dict[str, Any]) -> None:
    """An account with views but no dwell times is scored on the components it has evidence for; before, the
    missing dwell counted as a human one (0), so a pure liker scored 1.5 / 3.5. One component alone (a like rate)
    is no case against an account: it scores 0 (a rating data set would flag every keen rater)."""
    from socialflywheel.features.risk import account_risk

    t0 = dt.datetime(2026, 10, 1, 12, tzinfo=dt.UTC)
    rows = []
    for i in range(10):
        ts = t0 + dt.timedelta(minutes=i)
        rows.append({"event_id": f"a{i}", "event_type": "view", "user_id": "liker", "post_id": "p", "ts": ts})
        rows.append({"event_id": f"b{i}", "event_type": "like", "user_id": "liker", "post_id": "p", "ts": ts})
        rows.append(
            {"event_id": f"c{i}", "event_type": "view", "user_id": "skimmer", "post_id": "p", "ts": ts, "dwell_ms": 99}
        )
    full = [{f.name: None for f in EVENT_SCHEMA} | r | {"event_date": r["ts"].date()} for r in rows]
    events = spark.createDataFrame(full, spark_ddl(EVENT_SCHEMA))
    follows = spark.createDataFrame([], "follower_id string, followee_id string, since timestamp")
    out = account_risk(events, follows, window_minutes=10, min_others=5, threshold=0.5).collect()
    scores = {r["user_id"]: r["score"] for r in out}
    assert scores["liker"] == 0.0  # like_rate 1, nothing else with evidence: one behaviour alone is not enough
    assert scores["skimmer"] == pytest.approx(2.0 / 3.5)  # sub-second dwell (weight 2) and no likes (weight 1.5)
    risk = blank["lake"].read_arrow("gold.account_risk").to_pylist()
    assert risk and all(r["score"] is not None and 0.0 <= r["score"] <= 1.0 for r in risk)


def test_the_report_builds_on_the_blank_lake(blank: dict[str, Any]) -> None:
    states = blank["report"].sections
    assert {s: states[s] for s in ("engagement", "segments", "data-quality")} == dict.fromkeys(
        ("engagement", "segments", "data-quality"), "ok"
    )
    for sid in ("trending-hashtags", "sentiment", "campaigns"):  # built from the fields this lake lacks
        assert states[sid] == "empty", sid
    segments = [s for s in blank["lake"].read_arrow("gold.segments").to_pylist() if s["users"] >= K]
    shown = blank["html"].split('id="segment-table"')[1].split("</table>")[0]
    assert segments and shown.count('<td class="text">unknown</td>') == len(segments)


def test_one_country_and_device_everywhere(uniform: dict[str, Any]) -> None:
    lake: Lake = uniform["lake"]
    users = lake.read_arrow("silver.users", columns=["country", "device"]).to_pylist()
    assert len(users) == USERS and {(u["country"], u["device"]) for u in users} == {("DE", "ios")}
    result = uniform["features"]
    assert result.missing == [] and result.categories == ["news"]
    assert not [line for line in uniform["warnings"] if line.startswith("features: no ")]
    examples = lake.read_arrow("gold.training_examples", columns=["device", "category"]).to_pylist()
    assert examples and {(e["device"], e["category"]) for e in examples} == {("ios", "news")}
    affinity = lake.read_arrow("gold.user_features", columns=["category_affinity"]).column(0).to_pylist()
    assert {tuple(a) for a in affinity} <= {(0.0,), (1.0,)} and [1.0] in affinity


def test_segments_of_identical_categories_are_finite(uniform: dict[str, Any]) -> None:
    """Every category share is 1 (a zero standard deviation): segments still assign everyone, with finite values."""
    lake: Lake = uniform["lake"]
    assigned = lake.read_arrow("gold.user_segments").to_pylist()
    assert len(assigned) == USERS and all(math.isfinite(a["distance"]) for a in assigned)
    segments = lake.read_arrow("gold.segments").to_pylist()
    assert segments and sum(s["users"] for s in segments) <= USERS
    for s in segments:
        assert s["users"] >= K and s["top_categories"] == ["news"]
        assert all(math.isfinite(v) for _, v in s["features"]), s["segment"]


def test_a_hashtag_everyone_uses_every_day_scores_finite_and_never_trends(uniform: dict[str, Any]) -> None:
    lake: Lake = uniform["lake"]
    scores = lake.read_arrow("gold.hashtag_trend_scores").to_pylist()
    assert scores and {s["hashtag"] for s in scores} == {"daily"}
    assert all(math.isfinite(s["score"]) and math.isfinite(s["baseline"]) for s in scores)
    assert lake.read_arrow("gold.hashtag_trends").num_rows == 0


def test_one_category_and_one_campaign_make_whole_shares_in_the_report(uniform: dict[str, Any]) -> None:
    lake: Lake = uniform["lake"]
    groups = lake.read_arrow("gold.sentiment_aggregates").to_pylist()
    assert {g["group_key"] for g in groups if g["group_type"] == "category"} == {"news"}
    for g in groups:
        assert g["positive"] + g["negative"] + g["neutral"] == g["items"] and g["users"] >= K
    campaigns = lake.read_arrow("gold.campaign_performance").to_pylist()
    assert campaigns and {c["campaign_id"] for c in campaigns} == {"c1"}
    assert all(0.0 <= c["ctr"] <= 1.0 and c["frequency"] >= 1.0 for c in campaigns)
    states = uniform["report"].sections
    for sid in ("engagement", "sentiment", "campaigns", "segments", "data-quality"):
        assert states[sid] == "ok", sid
    assert states["trending-hashtags"] == "empty"
    assert 'data-metric="sentiment:news:items"' in uniform["html"]

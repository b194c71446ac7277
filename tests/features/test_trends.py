"""gold.hashtag_trends finds the planted bursts; a raw-count top-N on the same data does not."""

from __future__ import annotations

import datetime as dt
from typing import Any

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake

HOUR = dt.timedelta(hours=1)


def test_planted_trends_found_and_raw_counts_are_worse(default_lake: tuple[FlywheelConfig, Lake], spark: Any) -> None:
    from socialflywheel.features.risk import build_account_risk
    from socialflywheel.features.trends import build_hashtag_trends

    cfg, lake = default_lake
    build_account_risk(spark, lake, cfg.features)  # trends leave risky accounts out
    assert build_hashtag_trends(spark, lake, cfg.features) > 0
    planted = lake.read_arrow("truth.trends").to_pylist()
    found = [r for r in lake.read_arrow("gold.hashtag_trends").to_pylist() if r["granularity"] == "hour"]
    assert len(planted) >= 5

    def overlaps(d: dict[str, Any], p: dict[str, Any]) -> bool:
        return d["hashtag"] == p["hashtag"] and d["start_ts"] < p["end_ts"] and p["start_ts"] < d["end_ts"]

    precision = sum(any(overlaps(d, p) for p in planted) for d in found) / max(len(found), 1)
    recall = sum(
        any(d["hashtag"] == p["hashtag"] and abs(d["start_ts"] - p["start_ts"]) <= HOUR for d in found) for p in planted
    ) / len(planted)
    # Bucket level, same data: the burst flag vs the 3 most used tags of every hour.
    scores = [r for r in lake.read_arrow("gold.hashtag_trend_scores").to_pylist() if r["granularity"] == "hour"]

    def in_planted(r: dict[str, Any]) -> bool:
        return any(r["hashtag"] == p["hashtag"] and p["start_ts"] <= r["bucket_start"] < p["end_ts"] for p in planted)

    bursts = [r for r in scores if r["is_burst"]]
    burst_precision = sum(map(in_planted, bursts)) / len(bursts)
    by_hour: dict[Any, list[dict[str, Any]]] = {}
    for r in scores:
        by_hour.setdefault(r["bucket_start"], []).append(r)
    top = [r for rows in by_hour.values() for r in sorted(rows, key=lambda r: (-r["uses"], r["hashtag"]))[:3]]
    top_precision = sum(map(in_planted, top)) / len(top)
    print(
        f"trends: found={len(found)} planted={len(planted)} precision={precision:.3f} recall={recall:.3f}; "
        f"bucket precision burst={burst_precision:.3f} raw top-3={top_precision:.3f}"
    )
    assert precision >= 0.9, precision
    assert recall >= 0.9, recall
    assert burst_precision >= 0.9, burst_precision
    assert top_precision < burst_precision - 0.5, top_precision
    daily = [r for r in lake.read_arrow("gold.hashtag_trends").to_pylist() if r["granularity"] == "day"]
    assert {p["hashtag"] for p in planted} <= {d["hashtag"] for d in daily}


def test_flat_high_volume_tag_never_trends(spark: Any) -> None:
    """A tag used 20 times every hour has a big count and no trend; a quiet tag jumping 1 -> 12 trends,
    starting in the bucket where it jumped."""
    from socialflywheel.features.trends import hashtag_trends

    t0 = dt.datetime(2026, 10, 1)
    rows = []
    for h in range(72):
        rows += [("post", f"u{i}", t0 + h * HOUR + dt.timedelta(minutes=i), ["steady"]) for i in range(20)]
        rows.append(("post", "x", t0 + h * HOUR, ["quiet"] if h % 12 == 0 else ["other"]))
        if 60 <= h < 63:
            rows += [("post", f"q{i}", t0 + h * HOUR + dt.timedelta(minutes=i), ["Quiet"]) for i in range(12)]
    events = spark.createDataFrame(rows, "event_type string, user_id string, ts timestamp, hashtags array<string>")
    scores, trends = hashtag_trends(
        events,
        granularity="hour",
        baseline_buckets=48,
        prior=2.0,
        min_score=4.0,
        min_count=3,
        extend_score=2.0,
        max_gap=3,
    )
    got = [r.asDict() for r in trends.collect()]
    assert [(r["hashtag"], r["start_ts"], r["buckets"]) for r in got] == [("quiet", t0 + 60 * HOUR, 3)]
    assert got[0]["end_ts"] == t0 + 63 * HOUR and got[0]["uses"] == 37  # 3 x 12 plus the quiet use of hour 60
    steady = [r for r in scores.collect() if r["hashtag"] == "steady"]
    assert len(steady) == 72 and not any(r["is_burst"] for r in steady)

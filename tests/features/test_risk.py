"""gold.account_risk finds the planted bot rings without ever seeing the labels."""

from __future__ import annotations

from typing import Any

from socialflywheel.config import FlywheelConfig
from socialflywheel.lake.io import Lake
from socialflywheel.privacy.pseudonymize import pseudonym


def test_risky_accounts_are_the_planted_bots(default_lake: tuple[FlywheelConfig, Lake], spark: Any) -> None:
    from socialflywheel.features.risk import build_account_risk

    cfg, lake = default_lake
    rows = build_account_risk(spark, lake, cfg.features)
    risk = lake.read_arrow("gold.account_risk").to_pylist()
    assert rows == len(risk) == len({r["user_id"] for r in risk})
    assert all(0.0 <= r["score"] <= 1.0 for r in risk)
    key = cfg.privacy.hmac_key()
    bots = {pseudonym(r["user_id"], key) for r in lake.read_arrow("truth.users").to_pylist() if r["is_bot"]}
    flagged = {r["user_id"] for r in risk if r["is_risky"]}
    assert all(r["is_risky"] == (r["score"] > cfg.features.risk_threshold) for r in risk)
    precision = len(flagged & bots) / max(len(flagged), 1)
    recall = len(flagged & bots) / len(bots)
    print(f"bots={len(bots)} flagged={len(flagged)} precision={precision:.3f} recall={recall:.3f}")
    assert len(bots) >= 20
    assert precision >= 0.8, precision
    assert recall >= 0.8, recall


def test_coordinated_follow_wave_is_flagged(spark: Any) -> None:
    """Twelve accounts following the same 12 targets within minutes score as coordinated; a steady
    stream of followers to one popular account over days does not."""
    import datetime as dt

    from socialflywheel.features.risk import follow_coordination

    t0 = dt.datetime(2026, 10, 1, 12, 0)
    rows = []
    for b in range(12):  # a ring: every bot follows every target within ~3 minutes
        for t in range(12):
            rows.append((f"w{b}-{t}", "follow", f"bot{b}", f"target{t}", t0 + dt.timedelta(seconds=10 * b + 5 * t)))
    for h in range(200):  # one follower per ~50 minutes to a popular account over a week
        rows.append((f"s{h}", "follow", f"fan{h}", "star", t0 + dt.timedelta(minutes=50 * h)))
    events = spark.createDataFrame(
        rows, "event_id string, event_type string, user_id string, target_user_id string, ts timestamp"
    )
    out = {r["user_id"]: r for r in follow_coordination(events, window_minutes=10, min_others=5).collect()}
    assert all(out[f"bot{b}"]["coordination"] == 1.0 for b in range(12))
    assert all(out[f"fan{h}"]["coordination"] == 0.0 for h in range(200))
    assert out["bot0"]["follows"] == 12
    assert out["bot0"]["follow_burst"] == 1.0  # all 12 follows in one hour

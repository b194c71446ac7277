"""The report's account-risk section: accounts flagged by the bot/spam rules, their scores and behaviour.

How many accounts are flagged, the score distribution, and how flagged accounts behave against the rest; no account
is named, and no group of fewer than k people is shown.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from socialflywheel.report.html import SectionHtml, figure, headline, new_figure, table
from socialflywheel.report.sections import render_by_id

SIGNALS = (
    ("events", "events"),
    ("like_rate", "likes per view"),
    ("follow_burst", "follow burst (share of follows in the busiest hour)"),
    ("followee_follower_ratio", "followees per follower"),
    ("dwell_geomean_ms", "typical dwell (ms)"),
    ("coordination", "coordination with other accounts"),
    ("score", "risk score"),
)
BINS = np.linspace(0.0, 1.0, 11)


def score_histogram(risk: pd.DataFrame, k: int) -> tuple[pd.DataFrame, int]:
    """Accounts per score bin of width 0.1; a bin of 1 to k-1 accounts shows 0 and is counted as hidden."""
    counts, edges = np.histogram(risk["score"].clip(0.0, 1.0).to_numpy(dtype=float), bins=BINS)
    small = (counts > 0) & (counts < k)
    frame = pd.DataFrame(
        {"score_from": edges[:-1].round(1), "score_to": edges[1:].round(1), "accounts": np.where(small, 0, counts)}
    )
    return frame, int(small.sum())


def signal_medians(risk: pd.DataFrame, k: int) -> pd.DataFrame:
    """Median of each behaviour signal for flagged accounts and for the rest (a group under k people: no figure)."""
    groups = {"flagged": risk[risk["is_risky"]], "others": risk[~risk["is_risky"]]}
    rows = []
    for column, label in SIGNALS:
        row: dict[str, object] = {"signal": label, "column": column}
        for name, part in groups.items():
            row[name] = float(part[column].median()) if len(part) >= k and part[column].notna().any() else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def account_risk(risk: pd.DataFrame | None, k: int) -> SectionHtml:
    """Accounts scored and flagged, the score distribution and the flagged accounts' behaviour against the rest."""
    sid = "account-risk"
    if risk is None:
        return render_by_id(sid, "missing")
    if len(risk) < k:
        return render_by_id(sid, "empty", k=k, hidden_bins=0)
    flagged = int(risk["is_risky"].sum())
    shown_flagged = flagged if flagged == 0 or flagged >= k else None
    heads = [
        ("accounts scored", len(risk), "int", "risk:accounts"),
        ("flagged as risky" if shown_flagged is not None else f"flagged: hidden (fewer than {k})", shown_flagged,
         "int", "risk:flagged"),
        ("share flagged", shown_flagged / len(risk) if shown_flagged is not None else None, "pct", "risk:share"),
    ]  # fmt: skip
    bins, hidden = score_histogram(risk, k)
    fig = new_figure(8, 2.8)
    ax = fig.add_subplot()
    ax.bar(bins["score_from"] + 0.05, bins["accounts"], width=0.09, color="#c8553d")
    ax.set_yscale("symlog")
    ax.set_xlabel("risk score (bins of 0.1)")
    ax.set_ylabel("accounts")
    plot = figure(fig, "Accounts per risk score", name="risk-scores", data=bins)
    medians = signal_medians(risk, k)
    signals = table(
        medians,
        [("signal", "signal", "text"), ("flagged", "flagged (median)", "num"), ("others", "the rest (median)", "num")],
        metric=lambda r, c: f"risk:{r['column']}:{c}" if c in ("flagged", "others") else None,
        table_id="risk-table",
    )
    return render_by_id(sid, summary=headline(heads), plot=plot, signals=signals, hidden_bins=hidden, k=k)

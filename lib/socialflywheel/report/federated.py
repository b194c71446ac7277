"""The report's federated-trends section: what the latest federated run found and under which privacy.

Each trend is set against the central daily trend job on the same lake. Rows are hashtags and days (aggregates of
people): nothing here names or counts anyone below k, and each trend's uses are the server's noisy estimate, not a
count.
"""

from __future__ import annotations

import pandas as pd

from socialflywheel.report.html import SectionHtml, figure, headline, new_figure, table
from socialflywheel.report.sections import render_by_id


def agreement(federated: pd.DataFrame, central: pd.DataFrame | None) -> pd.Series:
    """Per federated trend: whether the central job found a daily trend of the same hashtag overlapping it."""
    days = central[central["granularity"] == "day"] if central is not None else pd.DataFrame()
    if days.empty:
        return pd.Series([None] * len(federated), index=federated.index, dtype=object)
    by_tag = {tag: part for tag, part in days.groupby("hashtag")}

    def overlaps(row: pd.Series) -> bool:
        part = by_tag.get(row["hashtag"])
        return bool(
            part is not None and ((part["start_ts"] < row["end_ts"]) & (row["start_ts"] < part["end_ts"])).any()
        )

    return federated.apply(overlaps, axis=1).astype(object)


def federated_trends(rows: pd.DataFrame | None, central: pd.DataFrame | None) -> SectionHtml:
    """The latest federated run's trends, its privacy parameters, and which trends the central job also found."""
    sid = "federated-trends"
    if rows is None:
        return render_by_id(sid, "missing")
    if rows.empty:
        return render_by_id(sid, "empty")
    first = rows.iloc[0]
    rows = rows.assign(central=agreement(rows, central)).sort_values(["start_ts", "hashtag"], kind="stable")
    both = rows["central"].dropna()
    heads = [
        ("trends found", len(rows), "int", "federated:trends"),
        ("clients", int(first["clients"]), "int", "federated:clients"),
        ("epsilon over the run", float(first["epsilon_total"]), "num", "federated:epsilon_total"),
        ("delta", float(first["delta"]), "num", "federated:delta"),
        ("also found centrally", float(both.mean()) if len(both) else None, "pct", "federated:agreement"),
    ]
    fig = new_figure(8, 2.6)
    ax = fig.add_subplot()
    starts = pd.to_datetime(rows["start_ts"])
    ax.barh(rows["hashtag"], (pd.to_datetime(rows["end_ts"]) - starts).dt.total_seconds() / 86_400, left=starts)
    ax.set_xlabel("trend span (days)")
    plot = figure(fig, "Trends found from the devices' private reports", name="federated-trends", data=rows)
    shown = rows.assign(central=rows["central"].map({True: "yes", False: "no"}).fillna("not run"))
    found = table(
        shown,
        [
            ("hashtag", "hashtag", "text"),
            ("start_ts", "start", "text"),
            ("end_ts", "end", "text"),
            ("uses", "people (estimated)", "int"),
            ("strength", "peak score", "num"),
            ("central", "central daily job too", "text"),
        ],
        metric=lambda r, c: f"federated:{r['hashtag']}:{c}" if c in ("uses", "central") else None,
        table_id="federated-table",
    )
    return render_by_id(sid, summary=headline(heads), plot=plot, found=found, privacy=str(first["privacy"]))

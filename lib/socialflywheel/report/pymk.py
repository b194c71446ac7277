"""The report's people-you-may-know section: suggestions against the follows people then made, run by run.

Read from gold.pymk_quality, which the graph job writes when ``graph.holdout_days`` keeps the last days' follows out
of the graph: Recall@k of the suggestions and of the most-followed baseline on those follows. A run measured on
fewer than k held-out follows is not shown (its recall would tell of a few people's follows).
"""

from __future__ import annotations

import pandas as pd

from socialflywheel.report.html import SectionHtml, figure, headline, new_figure, table
from socialflywheel.report.sections import render_by_id


def pymk_quality(quality: pd.DataFrame | None, k: int) -> SectionHtml:
    """The latest run's Recall@k against the baseline, and every run's over time."""
    sid = "people-you-may-know"
    if quality is None or quality.empty:
        return render_by_id(sid, "missing")
    runs = quality.sort_values(["as_of", "evaluated_at"], kind="stable")
    runs = runs.drop_duplicates(["as_of", "holdout_days", "k"], keep="last")
    hidden = int((runs["held_out_follows"] < k).sum())
    runs = runs[runs["held_out_follows"] >= k].reset_index(drop=True)
    if runs.empty:
        return render_by_id(sid, "empty", hidden=hidden, k=k)
    last = runs.iloc[-1]
    at = int(last["k"])
    lift = float(last["recall"]) - float(last["baseline_recall"])
    heads = [
        (f"Recall@{at}", float(last["recall"]), "pct", "pymk:recall"),
        (f"most-followed baseline Recall@{at}", float(last["baseline_recall"]), "pct", "pymk:baseline_recall"),
        ("held-out follows", int(last["held_out_follows"]), "int", "pymk:held_out"),
    ]
    fig = new_figure(8, 2.8)
    ax = fig.add_subplot()
    ax.plot(runs["as_of"], runs["recall"], marker="o", label="people you may know")
    ax.plot(runs["as_of"], runs["baseline_recall"], marker="s", linestyle="--", label="most-followed baseline")
    ax.set_ylabel(f"Recall@{at} on held-out follows")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    fig.autofmt_xdate()
    cols = ["as_of", "holdout_days", "k", "graph", "held_out_follows", "recall", "baseline_recall"]
    plot = figure(fig, "Suggestions against the follows people made next, per graph run", name="pymk", data=runs[cols])
    shown = runs.assign(as_of=runs["as_of"].map(lambda t: pd.Timestamp(t).strftime("%Y-%m-%d %H:%M")))
    history = table(
        shown.iloc[::-1],
        [
            ("as_of", "graph as of", "text"),
            ("holdout_days", "held-out days", "int"),
            ("graph", "graph", "text"),
            ("held_out_follows", "held-out follows", "int"),
            ("recall", "Recall@k", "pct"),
            ("baseline_recall", "baseline Recall@k", "pct"),
        ],
        table_id="pymk-table",
    )
    return render_by_id(
        sid, summary=headline(heads), plot=plot, history=history, beats=lift > 0, lift=lift, hidden=hidden, k=k
    )

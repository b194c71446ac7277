"""The report's engagement and data-quality sections, read first and last.

Engagement: KPIs with their change, the funnel, cohort retention. Data quality: batches, quarantine, freshness.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from socialflywheel.report.engagement import Activity, cohort_retention, funnel, kpis
from socialflywheel.report.html import (
    Plot,
    SectionHtml,
    Table,
    figure,
    headline,
    new_figure,
    table,
)
from socialflywheel.report.sections import render_by_id


def _change(delta: float | None) -> str:
    return "no earlier window to compare" if delta is None else f"{delta:+.1%} on the window before"


def engagement(activity: Activity | None, k: int) -> SectionHtml:
    """KPI strip (with the change on the window before), the view -> engage -> share funnel and weekly cohorts.

    A count of fewer than ``k`` people is not shown (a KPI reads "–", a funnel step and a cohort row are left out).
    """
    sid = "engagement"
    if activity is None:
        return render_by_id(sid, "missing")
    if activity.triples.empty:
        return render_by_id(sid, "empty", hidden=0, k=k)
    strip = []
    for kpi in kpis(activity):
        small = kpi.kind == "int" and kpi.value is not None and kpi.value < k
        value = None if small else kpi.value
        change = f"hidden: fewer than {k} people" if small else _change(kpi.delta)
        strip.append((f"{kpi.label}; {change}", value, kpi.kind, f"kpi:{kpi.name}"))
    steps = funnel(activity)
    hidden = int((steps["people"] < k).sum())
    steps = steps[steps["people"] >= k]
    fig = new_figure(8, 2.6)
    ax = fig.add_subplot()
    ax.barh(steps["step"][::-1], steps["people"][::-1], color="#4c72b0")
    for y, (people, share) in enumerate(zip(steps["people"][::-1], steps["of_viewers"][::-1], strict=True)):
        ax.text(people, y, f" {people:,} ({share:.0%})", va="center", fontsize=8)
    ax.set_xlabel("people over the whole period")
    ax.margins(x=0.2)
    funnel_plot = figure(
        fig,
        "Engagement funnel: people who viewed, then liked or commented, then shared",
        name="funnel",
        data=steps[["step", "people", "of_previous", "of_viewers"]],
    )
    cohorts = cohort_retention(activity)
    small_cohorts = cohorts[cohorts["size"] < k]
    cohorts = cohorts[cohorts["size"] >= k].reset_index(drop=True)
    hidden += len(small_cohorts)
    return render_by_id(
        sid,
        kpis=headline(strip),
        funnel_plot=funnel_plot,
        funnel=table(
            steps,
            [
                ("step", "step", "text"),
                ("people", "people", "int"),
                ("of_previous", "of the step before", "pct"),
                ("of_viewers", "of viewers", "pct"),
            ],
            metric=lambda r, c: f"funnel:{r['step']}:{c}" if c != "step" else None,
            table_id="funnel-table",
        ),
        retention_plot=_retention_plot(cohorts),
        retention=_retention_table(cohorts),
        hidden=hidden,
        k=k,
    )


def _weeks(cohorts: pd.DataFrame) -> list[str]:
    return [c for c in cohorts.columns if c.startswith("week_")]


def _retention_plot(cohorts: pd.DataFrame) -> Plot | None:
    weeks = _weeks(cohorts)
    if cohorts.empty or not weeks:
        return None
    grid = cohorts[weeks].to_numpy(dtype=float)
    fig = new_figure(8, 1.2 + 0.4 * len(cohorts))
    ax = fig.add_subplot()
    im = ax.imshow(np.ma.masked_invalid(grid), cmap="Blues", vmin=0, vmax=1, aspect="auto")
    for (i, j), share in np.ndenumerate(grid):
        if np.isfinite(share):
            ax.text(
                j, i, f"{share:.0%}", ha="center", va="center", fontsize=8, color="white" if share > 0.6 else "black"
            )
    ax.set_xticks(np.arange(len(weeks)), [w.replace("_", " ") for w in weeks], fontsize=8)
    labels = [f"{c.isoformat()} ({n:,})" for c, n in zip(cohorts["cohort"], cohorts["size"], strict=True)]
    ax.set_yticks(np.arange(len(cohorts)), labels, fontsize=8)
    ax.set_xlabel("weeks since the cohort's first week")
    fig.colorbar(im, ax=ax, label="share active")
    return figure(
        fig,
        "Weekly cohort retention (cohort: the week of a person's first activity; its size)",
        name="cohorts",
        data=cohorts[["cohort", "size", *weeks]],
    )


def _retention_table(cohorts: pd.DataFrame) -> Table:
    cols = [("cohort", "cohort (first day)", "text"), ("size", "people", "int")]
    cols += [(w, w.replace("_", " "), "pct") for w in _weeks(cohorts)]
    shown = cohorts.assign(cohort=cohorts["cohort"].map(lambda d: d.isoformat()))
    return table(
        shown,
        cols,
        metric=lambda r, c: f"cohort:{r['cohort']}:{c}" if c != "cohort" else None,
        table_id="cohort-table",
    )


def data_quality(
    batches: pd.DataFrame | None, quarantine: pd.DataFrame | None, freshness: list[dict[str, Any]]
) -> SectionHtml:
    """Reconciliation per ingest batch, quarantined rows by reason and day, and each table's freshness."""
    sid = "data-quality"
    if batches is None:
        return render_by_id(sid, "missing")
    recent = batches.sort_values("started_at", ascending=False).head(20)
    plot: Plot | None = None
    if quarantine is not None and not quarantine.empty:
        by_day = quarantine.groupby(["ingest_date", "reason"]).size().unstack(fill_value=0).sort_index()
        fig = new_figure(8, 3.2)
        ax = fig.add_subplot()
        bottom = np.zeros(len(by_day))
        days = [d.isoformat() for d in by_day.index]
        for reason in by_day.columns:
            ax.bar(days, by_day[reason], bottom=bottom, label=reason)
            bottom += by_day[reason].to_numpy()
        ax.set_ylabel("rows quarantined")
        ax.set_xlabel("ingest day")
        ax.tick_params(axis="x", labelsize=7, rotation=30)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        caption = "Quarantined landing rows by reason and ingest day"
        plot = figure(fig, caption, name="quarantine", data=by_day.reset_index())
    fresh = pd.DataFrame(freshness)
    return render_by_id(
        sid,
        batches=table(
            recent,
            [
                ("batch_id", "batch", "code"),
                ("started_at", "started (UTC)", "text"),
                ("rows_in", "rows in", "int"),
                ("rows_new", "new", "int"),
                ("rows_present", "already present", "int"),
                ("rows_quarantined", "quarantined", "int"),
                ("reconciled", "reconciled", "text"),
            ],
            metric=lambda r, c: f"batch:{r['batch_id']}:{c}" if c.startswith("rows") else None,
            table_id="batch-table",
        ),
        unreconciled=int((~batches["reconciled"].astype(bool)).sum()),
        quarantine_plot=plot,
        freshness=table(
            fresh,
            [
                ("table", "table", "code"),
                ("version", "Delta version", "int"),
                ("rows", "rows", "int"),
                ("last_write", "last write (UTC)", "text"),
            ],
            metric=lambda r, c: f"fresh:{r['table']}:{c}" if c == "version" else None,
            table_id="freshness-table",
        ),
    )

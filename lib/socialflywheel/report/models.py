"""The report's model section: the latest run against its baselines, and every registered version.

A warning shows when the serving model is not the best the registry knows of on the latest holdout.

What each version was measured on comes from the registry's own records (``recsys.registry``): its holdout
Recall@50 tag, the dataset fingerprint of that holdout, the promotion decision, and, when a newer version was
compared with a champion of another holdout, the champion's Recall@50 re-scored on the newer holdout. Its run gives
the best baseline's Recall@50 on the same holdout.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from socialflywheel.report.html import SectionHtml, figure, headline, new_figure, table
from socialflywheel.report.sections import render_by_id

if TYPE_CHECKING:
    from socialflywheel.tracking import Tracking

log = logging.getLogger(__name__)

BASELINES = ("most_popular", "ials")


def registered_versions(tracking: Tracking) -> pd.DataFrame | None:
    """Every version of the registered model with what it was measured on; None when the registry has none.

    Columns: ``version``, ``registered``, ``recall_at_50`` (its holdout), ``best_baseline_at_50`` (its run's best
    baseline on that holdout), ``champion_rescored_at_50``, ``fingerprint``, ``serving``, ``promotion``; newest
    first.
    """
    from socialflywheel.recsys.registry import FINGERPRINT_TAG, PROMOTION_TAG, RESCORED_TAG, SCORE_TAG
    from socialflywheel.tracking import client_tracking_uri

    uri = client_tracking_uri(tracking.uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    name = tracking.registered_model
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as exc:
        log.warning("report: the registry could not list %s (%s)", name, exc)
        return None
    if not versions:
        return None
    try:
        serving = str(client.get_model_version_by_alias(name, tracking.serving_alias).version)
    except MlflowException:
        serving = None
    rows = []
    for v in versions:
        metrics: dict[str, float] = {}
        if v.run_id:
            try:
                metrics = client.get_run(v.run_id).data.metrics
            except MlflowException:
                metrics = {}
        base = [metrics[f"test.{b}.recall_at_50"] for b in BASELINES if f"test.{b}.recall_at_50" in metrics]
        rows.append(
            {
                "version": int(v.version),
                "registered": dt.datetime.fromtimestamp(v.creation_timestamp / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M"),
                "recall_at_50": _number(v.tags.get(SCORE_TAG)),
                "best_baseline_at_50": max(base) if base else math.nan,
                "champion_rescored_at_50": _number(v.tags.get(RESCORED_TAG)),
                "fingerprint": v.tags.get(FINGERPRINT_TAG, ""),
                "serving": str(v.version) == serving,
                "promotion": v.tags.get(PROMOTION_TAG, ""),
            }
        )
    return pd.DataFrame(rows).sort_values("version", ascending=False, kind="stable").reset_index(drop=True)


def _number(text: str | None) -> float:
    try:
        return float(text) if text is not None else math.nan
    except ValueError:
        return math.nan


def serving_warning(versions: pd.DataFrame, alias: str) -> str | None:
    """Why the serving model may not be the best on the latest holdout, from the registry's records; None if it is.

    The latest holdout is the newest version's. The serving version is judged there by its own score when it is
    the newest or shares the newest's holdout (same fingerprint), else by its re-scored Recall@50 when the newest
    was compared with it; against the best baseline of that holdout and, on the same holdout, the newest version.
    """
    newest = versions.sort_values("version", kind="stable").iloc[-1]
    serving = versions[versions["serving"]]
    if serving.empty:
        return f"No version holds the serving alias '{alias}': recommend serves only the fallback (trending, popular)."
    s = serving.iloc[0]
    base = float(newest["best_baseline_at_50"])
    if s["version"] == newest["version"] or s["fingerprint"] == newest["fingerprint"]:
        on_latest = float(s["recall_at_50"])
    elif not math.isnan(float(newest["champion_rescored_at_50"])):
        on_latest = float(newest["champion_rescored_at_50"])
    else:
        return (
            f"The serving model v{s['version']} was measured on another holdout and not re-scored on the latest one, "
            f"where v{newest['version']} was not promoted: {newest['promotion'] or 'no decision recorded'}."
        )
    if on_latest <= base:
        return (
            f"The serving model v{s['version']} scores Recall@50 {on_latest:.4f} on the latest holdout, not above the "
            f"best baseline's {base:.4f}: a baseline would serve better."
        )
    newer = float(newest["recall_at_50"])
    if s["version"] != newest["version"] and s["fingerprint"] == newest["fingerprint"] and newer > on_latest:
        return (
            f"v{newest['version']} scores Recall@50 {newer:.4f} on the latest holdout, above the serving "
            f"v{s['version']}'s {on_latest:.4f}, but was not promoted: {newest['promotion'] or 'no decision recorded'}."
        )
    return None


def model_metrics(
    evaluation: pd.DataFrame | None,
    run: dict[str, Any] | None,
    versions: pd.DataFrame | None = None,
    *,
    alias: str = "serving",
) -> SectionHtml:
    """The latest training run's test-split table (two-tower vs most-popular vs iALS) and every registered version."""
    sid = "model-metrics"
    if run is None or evaluation is None or evaluation.empty:
        return render_by_id(sid, "missing")
    test = evaluation[evaluation["split"] == "test"] if "split" in evaluation else evaluation
    test = test.sort_values(["k", "model"], kind="stable").reset_index(drop=True)
    models = list(dict.fromkeys(test["model"]))
    ks = sorted(int(x) for x in set(test["k"]))
    fig = new_figure()
    ax = fig.add_subplot()
    width = 0.8 / max(len(models), 1)
    for i, model in enumerate(models):
        part = test[test["model"] == model].set_index("k")
        ax.bar(np.arange(len(ks)) + i * width, [float(part.loc[kk, "recall"]) for kk in ks], width, label=model)
    ax.set_xticks(np.arange(len(ks)) + width * (len(models) - 1) / 2, [f"Recall@{kk}" for kk in ks])
    ax.set_ylabel("recall (test split)")
    ax.legend(fontsize=8)
    pick = test[test["k"] == (50 if 50 in ks else ks[-1])]
    heads = [
        (f"{m} recall@{int(r['k'])}", float(r["recall"]), "num", f"model:{m}:recall_at_{int(r['k'])}:headline")
        for m, r in zip(pick["model"], pick.to_dict("records"), strict=True)
    ]
    caption = "Test-split recall of the two-tower model and its baselines"
    plot = figure(fig, caption, name="model-recall", data=test[["model", "k", "recall"]])
    cols = [("model", "model", "text"), ("k", "K", "int")]
    cols += [(c, c, "num") for c in ("recall", "ndcg", "coverage", "pop_percentile", "gini") if c in test]
    metrics = table(
        test,
        cols,
        metric=lambda r, c: f"model:{r['model']}:{c}_at_{int(r['k'])}" if c not in ("model", "k") else None,
        table_id="model-table",
    )
    version_table, warning = None, None
    if versions is not None and not versions.empty:
        warning = serving_warning(versions, alias)
        shown = versions.assign(serving=versions["serving"].map({True: alias, False: ""}))
        version_table = table(
            shown,
            [
                ("version", "version", "int"),
                ("registered", "registered (UTC)", "text"),
                ("recall_at_50", "holdout Recall@50", "num"),
                ("best_baseline_at_50", "best baseline Recall@50", "num"),
                ("serving", "alias", "text"),
                ("promotion", "promotion decision", "text"),
            ],
            metric=lambda r, c: f"version:{r['version']}:{c}" if c in ("recall_at_50", "serving") else None,
            table_id="version-table",
        )
    return render_by_id(
        sid, run=run, recall=headline(heads), plot=plot, metrics=metrics, versions=version_table, warning=warning
    )

"""``flywheel report``: gold tables and the latest MLflow training run -> one self-contained HTML file.

Tables are read through delta-rs (``Lake.read_arrow``, only the columns and rows a section needs),
so no Spark is needed; the training run's evaluation table comes from its MLflow artifacts
(``evaluation/evaluation.csv``) or, failing that, from its ``test.<model>.<metric>_at_<K>`` metrics.
A section whose inputs do not exist yet says so plainly instead of failing the report.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from socialflywheel.report import federated, models, overview, pymk, risk, sections
from socialflywheel.report.engagement import as_date, read_activity
from socialflywheel.report.html import SectionState, page
from socialflywheel.report.models import registered_versions
from socialflywheel.results import JobResult
from socialflywheel.table_view import catalog_records

if TYPE_CHECKING:
    from deltalake.table import FilterType
    from pyspark.sql import SparkSession

    from socialflywheel.config.stages import FairnessThresholds, ReportConfig
    from socialflywheel.lake.io import Lake
    from socialflywheel.tracking import Tracking

log = logging.getLogger(__name__)


def report_path(conf: ReportConfig, work: Path) -> Path:
    """Where the report goes: ``report.path`` or ``<work_dir>/report/report.html``.

    Args:
        conf: the ``report`` section.
        work: the work folder.

    Returns:
        The output file.
    """
    return Path(conf.path).expanduser().resolve() if conf.path else work / "report" / "report.html"


class _Reader:
    """Reads tables when they exist (None otherwise) and counts the rows read."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.rows = 0

    def __call__(
        self, name: str, *, columns: list[str] | None = None, filters: FilterType | None = None
    ) -> pd.DataFrame | None:
        if not self.lake.exists(name):
            return None
        arrow = self.lake.read_arrow(name, columns=columns, filters=filters)
        self.rows += arrow.num_rows
        frame: pd.DataFrame = arrow.to_pandas()
        return frame


def latest_train_run(tracking: Tracking) -> tuple[dict[str, Any] | None, pd.DataFrame | None]:
    """The most recent finished ``train`` run of the configured experiment and its evaluation table.

    Args:
        tracking: The resolved ``mlflow`` section.

    Returns:
        ``(run facts, evaluation table)``, or ``(None, None)`` when no such run exists (a SQLite
        store that does not exist yet is not created).
    """
    from socialflywheel.tracking import client_tracking_uri

    uri = client_tracking_uri(tracking.uri)
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return None, None
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(tracking.experiment)
    if exp is None:
        return None, None
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string="tags.job = 'train' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return None, None
    run = runs[0]
    info = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "start_time": dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "model_version": run.data.tags.get("model_version"),
        "promoted": run.data.tags.get("promoted", ""),
        "promotion": run.data.tags.get("promotion.reason", ""),
    }
    evaluation: pd.DataFrame | None = None
    try:  # the evaluation table as the train job wrote it (records), not decoded back from metric names
        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(run.info.run_id, "evaluation/evaluation.json", tmp)
            evaluation = pd.DataFrame(json.loads(Path(path).read_text()))
    except Exception as exc:
        log.warning("report: run %s has no evaluation/evaluation.json (%s)", run.info.run_id, exc)
    return info, evaluation


def _handles(rows: pd.DataFrame | None) -> dict[str, str]:
    """Pseudonym -> public handle of the governed mapping (silver.public_handles), read like every other table."""
    return {} if rows is None else dict(zip(rows["user_id"], rows["handle"], strict=True))


def _strongest(trends: pd.DataFrame | None) -> list[str]:
    """Trending hashtags, strongest peak first (each once)."""
    if trends is None or trends.empty:
        return []
    order = trends.sort_values(["strength", "hashtag"], ascending=[False, True], kind="stable")
    return list(dict.fromkeys(str(t) for t in order["hashtag"]))


@dataclass(kw_only=True)
class ReportResult(JobResult):
    """A report run: the file written and what each section showed."""

    path: str
    bytes: int
    sections: dict[str, SectionState] = field(default_factory=dict)
    """Each section's state: ok, empty (nothing to show, or every group suppressed) or missing (no input)."""
    mlflow_train_run_id: str | None = None
    """The MLflow training run the model section shows."""


def run_report(
    spark: SparkSession | None,
    lake: Lake,
    *,
    out: Path,
    tracking: Tracking,
    min_group_users: int,
    fairness: FairnessThresholds | None = None,
) -> ReportResult:
    """Write the HTML report (trends, sentiment, campaigns, graph, segments, model metrics, fairness).

    Args:
        spark: Unused (the report reads through delta-rs); kept for the job signature.
        lake: The lake.
        out: The HTML file to write (``report_path`` resolves ``report.path``).
        tracking: The resolved ``mlflow`` section (the latest train run is shown).
        min_group_users: k: groups of fewer people are suppressed (``privacy.min_group_users``).
        fairness: The limits recommendation exposure is checked against (``report.fairness``; default: its defaults).

    Returns:
        The file written, its size, each section's state (``ok``, ``empty`` or ``missing``), the MLflow training
        run shown, rows in (rows read) and out (1 file).
    """
    del spark

    k = min_group_users
    read = _Reader(lake)
    trends = read("gold.hashtag_trends")
    scores = None
    if trends is not None:
        tags = sorted(set(trends["hashtag"]))
        scores = read(
            "gold.hashtag_trend_scores",
            columns=["granularity", "hashtag", "bucket_start", "uses", "users", "baseline", "score"],
            filters=[("hashtag", "in", tags)] if tags else None,
        )
    fair = read("gold.recommendation_fairness")
    recs = None
    if fair is not None and not fair.empty:
        version = str(fair.sort_values(["generated_at", "model_version"], kind="stable")["model_version"].iloc[-1])
        recs = read(
            "gold.recommendations",
            columns=["model_version", "user_id", "source"],
            filters=[("model_version", "=", version)],
        )
    run, evaluation = latest_train_run(tracking)
    activity = read_activity(lake)
    parts = {
        "engagement": overview.engagement(activity, k),
        "trending-hashtags": sections.trends(trends, scores, k),
        "federated-trends": federated.federated_trends(read("gold.federated_trends"), trends),
        "sentiment": sections.sentiment(read("gold.sentiment_aggregates"), k, hashtags=_strongest(trends)),
        "campaigns": sections.campaigns(read("gold.campaign_performance"), k),
        "communities": sections.communities(
            read("gold.graph_communities"),
            read(
                "gold.graph_centrality",
                columns=["user_id", "pagerank", "in_degree", "core_number", "community", "rank_in_community"],
            ),
            k,
            read("gold.community_graph"),
            _handles(read("silver.public_handles", columns=["user_id", "handle"])),
        ),
        "segments": sections.segments(read("gold.segments"), k),
        "model-metrics": models.model_metrics(
            evaluation, run, registered_versions(tracking) if run else None, alias=tracking.serving_alias
        ),
        "fairness": sections.fairness(fair, recs, k, fairness),
        "people-you-may-know": pymk.pymk_quality(read("gold.pymk_quality"), k),
        "account-risk": risk.account_risk(read("gold.account_risk"), k),
        "data-quality": overview.data_quality(
            read("bronze.batches"),
            read("bronze.quarantine", columns=["reason", "ingest_date"]),
            [r for r in catalog_records(lake) if r["written"]],
        ),
    }
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    versions = ", ".join(f"{n} v{v}" for n, v in sorted(lake.versions_read.items()))
    period = "No events yet"
    if activity is not None and activity.first_day is not None and activity.last_day is not None:
        first, last = as_date(activity.first_day), as_date(activity.last_day)
        period = f"Data from {first} to {last} ({(last - first).days + 1} days)"
    html = page(
        "Social Flywheel report",
        f"{period}; generated {now}; groups of fewer than {k} people are never shown. "
        f"Tables read: {versions or 'none'}.",
        [(sid, sections.SECTIONS[sid], parts[sid]) for sid in sections.SECTIONS],
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    states = {sid: part.state for sid, part in parts.items()}
    log.info("report: %s (%d bytes) %s", out, len(html.encode()), states)
    return ReportResult(
        path=str(out),
        bytes=len(html.encode()),
        sections=states,
        mlflow_train_run_id=str(run["run_id"]) if run else None,
        rows_in=read.rows,
        rows_out=1,
    )

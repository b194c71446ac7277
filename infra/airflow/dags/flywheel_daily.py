"""Daily DAG: quality gates, then ingest -> conform -> features -> graph -> train -> recommend -> report.

One run per logical date (``{{ ds }}``), handed to every job as FLYWHEEL_LOGICAL_DATE (and as a
config override when FLYWHEEL_DATE_KEY names the key). Each job is idempotent, so retries and
re-runs of a date are safe. Backfill a date range with ``airflow backfill create`` (scheduler) or
``infra/airflow/backfill.sh`` (in-process, one ``airflow dags test`` per date).

The runner (FLYWHEEL_RUNNER=cli|spark-submit) is chosen where the DAG is parsed: see flywheel_tasks.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, task
from flywheel_tasks import default_args, job_task, run_gate, runner

# The pipeline in order: (task id, job, extra arguments). `flywheel ingest` would also conform;
# the DAG keeps the two apart so a failure points at one of them.
PIPELINE: list[tuple[str, str, list[str]]] = [
    ("ingest", "ingest", ["--no-conform"]),
    ("conform", "conform", []),
    ("features", "features", []),
    ("graph", "graph", []),
    ("train", "train", []),
    ("recommend", "recommend", []),
    ("report", "report", []),
]

with DAG(
    dag_id="flywheel_daily",
    description="Daily flywheel: landing data -> lake -> features, graph, model, recommendations, report.",
    schedule="@daily",
    start_date=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["social-flywheel", f"runner:{runner()}"],
    doc_md=__doc__,
) as dag:

    @task(task_id="gate_freshness", retries=0)
    def gate_freshness(ds: str | None = None) -> str:
        """Landing data is fresh: the newest partition on or before the logical date is recent enough."""
        return run_gate("freshness", str(ds))

    @task(task_id="gate_volume", retries=0)
    def gate_volume(ds: str | None = None) -> str:
        """The logical date's landing rows are within bounds of the trailing days' mean."""
        return run_gate("volume", str(ds))

    freshness = gate_freshness()
    volume = gate_volume()
    freshness >> volume

    previous = volume
    for task_id, job, extra in PIPELINE:
        current = job_task(job, task_id=task_id, extra_args=extra, trigger_rule="none_failed")
        previous >> current
        previous = current

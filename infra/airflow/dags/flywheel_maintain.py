"""Weekly lake maintenance: retention, compaction, vacuum and Delta log clean-up (``flywheel maintain``)."""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG
from flywheel_tasks import default_args, job_task, runner

with DAG(
    dag_id="flywheel_maintain",
    description="Retention, compaction, vacuum and log clean-up of every lake table.",
    schedule="@weekly",
    start_date=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    tags=["social-flywheel", f"runner:{runner()}"],
    doc_md=__doc__,
) as dag:
    job_task("maintain")

"""GDPR erasure on request: remove the given people, then make it physical with a maintain pass.

Triggered, never scheduled, with the raw user ids as run configuration::

    airflow dags trigger flywheel_erase --conf '{"user_ids": ["u000123", "u000456"]}'

The ids travel to ``flywheel erase --user ...`` as one argument each (shell-quoted); the maintain
pass that follows runs with zero vacuum and log retention so no old file or log entry keeps them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.sdk import DAG, Param, task
from flywheel_tasks import default_args, erase_args, erase_task, job_task, runner

ERASE_MAINTAIN = ["--set", "maintain.vacuum_retention_hours=0", "--set", "maintain.log_retention_hours=0"]

with DAG(
    dag_id="flywheel_erase",
    description="Right to be forgotten: erase the listed people from every table, then vacuum.",
    schedule=None,
    start_date=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={"user_ids": Param([], type="array", items={"type": "string"}, minItems=1, description="Raw user ids.")},
    tags=["social-flywheel", "gdpr", f"runner:{runner()}"],
    doc_md=__doc__,
) as dag:

    @task(task_id="user_args", retries=0, multiple_outputs=True)
    def user_args(params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Validate the requested ids and turn them into ``--user`` arguments."""
        return erase_args(list((params or {}).get("user_ids", [])))

    args = user_args()
    erase = erase_task(args)
    maintain = job_task("maintain", task_id="maintain_after_erase", extra_args=ERASE_MAINTAIN)
    args >> erase >> maintain

"""GDPR erasure on request: carry out a stored request, then make it physical with a maintain pass.

Triggered, never scheduled, with the id of a request stored (pseudonymized on arrival) by the project::

    flywheel erase-request --users-file ids.txt        # prints {"request_id": "er-...", "people": 2}
    airflow dags trigger flywheel_erase --conf '{"request_id": "er-..."}'

Raw user ids never pass through Airflow: its metadata database, XCom, the rendered command and the task logs
hold only the request id (the param schema accepts nothing else). The maintain pass that follows runs with
zero vacuum and log retention so no old file or log entry keeps the people or the request's pseudonyms.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param
from flywheel_tasks import REQUEST_ID_PATTERN, default_args, erase_task, job_task, runner

ERASE_MAINTAIN = ["--set", "maintain.vacuum_retention_hours=0", "--set", "maintain.log_retention_hours=0"]

with DAG(
    dag_id="flywheel_erase",
    description="Right to be forgotten: erase the people of a stored request from every table, then vacuum.",
    schedule=None,
    start_date=dt.datetime(2026, 10, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    default_args=default_args(),
    params={
        "request_id": Param(
            "",
            type="string",
            pattern=REQUEST_ID_PATTERN,
            description="The id printed by `flywheel erase-request` (never raw user ids).",
        )
    },
    tags=["social-flywheel", "gdpr", f"runner:{runner()}"],
    doc_md=__doc__,
) as dag:
    erase = erase_task(retries=0)
    maintain = job_task("maintain", task_id="maintain_after_erase", extra_args=ERASE_MAINTAIN)
    erase >> maintain

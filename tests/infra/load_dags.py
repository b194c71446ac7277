"""Run with the Airflow venv's python: load the DAG folder with Airflow's DagBag and print its shape as JSON."""

from __future__ import annotations

import json
import sys
from typing import Any


def main(dag_folder: str) -> None:
    from pathlib import Path

    from airflow.dag_processing.dagbag import BundleDagBag

    # The bag the DAG processor uses for a local bundle (it puts the folder on sys.path).
    bag = BundleDagBag(dag_folder=dag_folder, bundle_path=Path(dag_folder), bundle_name="dags-folder")
    out: dict[str, Any] = {"import_errors": {str(k): str(v) for k, v in bag.import_errors.items()}, "dags": {}}
    for dag_id, dag in bag.dags.items():
        tasks = {}
        for task_id, op in dag.task_dict.items():
            tasks[task_id] = {
                "operator": type(op).__name__,
                "upstream": sorted(op.upstream_task_ids),
                "retries": op.retries,
                "trigger_rule": str(getattr(op.trigger_rule, "value", op.trigger_rule)),
            }
        out["dags"][dag_id] = {
            "tasks": tasks,
            "schedule": str(getattr(dag, "schedule", None)),
            "catchup": dag.catchup,
            "params": sorted(dag.params.keys()) if dag.params else [],
        }
    heavy = ("socialflywheel", "pyspark", "torch", "pandas", "deltalake")
    out["heavy_modules"] = sorted(m for m in sys.modules if m.split(".")[0] in heavy)
    print("DAGBAG_JSON=" + json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1])

"""Task factory shared by the Social Flywheel DAGs: one job -> one task, on the runner this deployment uses.

Imported by the DAG files only; ``.airflowignore`` keeps the DAG processor from parsing it as a DAG
file. Nothing heavy is imported here (no socialflywheel, pyspark or torch): tasks call the project's
``flywheel`` command (embedded default) or ``spark-submit`` (clusters) in their own processes.

Settings (see infra/airflow/README.md). The runner is read from the environment when the DAG is
parsed, because it decides the operator classes; every other setting is an environment default that
an Airflow Variable of the same name in lower case (``flywheel_conf`` for ``FLYWHEEL_CONF``)
overrides at run time.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
RUNNERS = ("cli", "spark-submit")
SKIP_EXIT_CODE = 99
GATE_FAILED = "QUALITY GATE FAILED"

# Environment defaults of the run-time settings; an Airflow Variable named in lower case wins.
DEFAULTS: dict[str, str] = {
    "FLYWHEEL_CONF": str(REPO / "conf" / "local.yaml"),
    "FLYWHEEL_BIN": str(REPO / ".venv" / "bin" / "flywheel"),
    "FLYWHEEL_PY": str(REPO / ".venv" / "bin" / "python"),
    "FLYWHEEL_SETS": "",
    "FLYWHEEL_DATE_KEY": "run_date",
    "FLYWHEEL_SKIP_MISSING": "0",
    "FLYWHEEL_FRESHNESS_MAX_LAG_DAYS": "1",
    "FLYWHEEL_VOLUME_TRAILING_DAYS": "7",
    "FLYWHEEL_VOLUME_MIN_RATIO": "0.5",
    "FLYWHEEL_VOLUME_MAX_RATIO": "2.0",
    # spark-submit runner
    "FLYWHEEL_SPARK_CONN_ID": "spark_flywheel",
    "FLYWHEEL_JOBS_DIR": str(REPO / "jobs"),
    "FLYWHEEL_WHEEL": str(REPO / "dist" / "socialflywheel-0.1.0-py3-none-any.whl"),
    "FLYWHEEL_SPARK_PROPERTIES": str(REPO / "infra" / "spark" / "spark-defaults-cpu.conf"),
    "FLYWHEEL_TRAIN_LAUNCHER": "distributor",
    "FLYWHEEL_GPU_QUEUE": "gpu",
}


def env(name: str) -> str:
    """The environment value of a setting, else its default (read when the DAG is parsed)."""
    return os.environ.get(name, DEFAULTS.get(name, ""))


def runner() -> str:
    """``cli`` (embedded default: the project's ``flywheel`` command) or ``spark-submit`` (clusters)."""
    value = os.environ.get("FLYWHEEL_RUNNER", "cli").strip() or "cli"
    if value not in RUNNERS:
        raise ValueError(f"FLYWHEEL_RUNNER={value!r}: expected one of {', '.join(RUNNERS)}")
    return value


def default_args() -> dict[str, Any]:
    """Retries for every job task (a job is idempotent, so a retry is safe); gates set their own."""
    return {
        "owner": "data-platform",
        "retries": int(os.environ.get("FLYWHEEL_RETRIES", "2")),
        "retry_delay": dt.timedelta(seconds=int(os.environ.get("FLYWHEEL_RETRY_DELAY_SECONDS", "300"))),
        "retry_exponential_backoff": True,
        "max_retry_delay": dt.timedelta(hours=1),
    }


def templated(name: str) -> str:
    """A Jinja expression: the Airflow Variable ``name.lower()`` at run time, else the environment default."""
    key, default = repr(name.lower()), repr(env(name))
    return "{{ var.value.get(" + key + ", " + default + ") }}"


def run_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of a job process: the logical date and the run-time settings (templated)."""
    out = {
        "FLYWHEEL_LOGICAL_DATE": "{{ ds }}",
        "FLYWHEEL_DATA_INTERVAL_START": "{{ data_interval_start | ts }}",
        "FLYWHEEL_DATA_INTERVAL_END": "{{ data_interval_end | ts }}",
        "FLYWHEEL_AIRFLOW_RUN_ID": "{{ run_id }}",
    }
    for name in ("FLYWHEEL_CONF", "FLYWHEEL_BIN", "FLYWHEEL_SETS", "FLYWHEEL_DATE_KEY", "FLYWHEEL_SKIP_MISSING"):
        out[name] = templated(name)
    out.update(extra or {})
    return out


# The command a cli-mode task runs. FLYWHEEL_SETS holds whitespace-separated key=value overrides;
# FLYWHEEL_DATE_KEY names the config key that receives the logical date (run_date: every job then processes the
# partitions of that day; empty: the jobs take whatever is new, for a build older than dated runs).
_CLI_SCRIPT = """\
set -euo pipefail
"$FLYWHEEL_BIN" --help >/dev/null
if ! "$FLYWHEEL_BIN" {command} --help >/dev/null 2>&1; then
  if [ "$FLYWHEEL_SKIP_MISSING" = "1" ]; then
    echo "flywheel has no '{command}' command yet: task skipped (FLYWHEEL_SKIP_MISSING=1)"
    exit {skip}
  fi
  echo "flywheel has no '{command}' command: install a build that registers it" >&2
  exit 1
fi
args=(--conf "$FLYWHEEL_CONF")
for kv in $FLYWHEEL_SETS; do args+=(--set "$kv"); done
if [ -n "$FLYWHEEL_DATE_KEY" ]; then args+=(--set "$FLYWHEEL_DATE_KEY=$FLYWHEEL_LOGICAL_DATE"); fi
echo "flywheel {command} for $FLYWHEEL_LOGICAL_DATE: ${{args[*]}} {extra}"
exec "$FLYWHEEL_BIN" {command} "${{args[@]}}" {extra}
"""


def cli_task(task_id: str, command: str, *, extra_args: str = "", **kwargs: Any) -> Any:
    """A BashOperator running ``flywheel <command>`` with the logical date in its environment."""
    from airflow.providers.standard.operators.bash import BashOperator

    script = _CLI_SCRIPT.format(command=command, extra=extra_args, skip=SKIP_EXIT_CODE)
    return BashOperator(
        task_id=task_id,
        bash_command=script,
        env=run_env(),
        append_env=True,
        skip_on_exit_code=SKIP_EXIT_CODE,
        **kwargs,
    )


def spark_task(task_id: str, job: str, *, extra_args: list[str] | None = None, **kwargs: Any) -> Any:
    """A SparkSubmitOperator running ``jobs/<job>.py`` with the project wheel on the cluster."""
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    args = ["--conf", templated("FLYWHEEL_CONF"), *(extra_args or [])]
    # The logical date travels as a config override when the deployment names the key.
    date_key = env("FLYWHEEL_DATE_KEY")
    if date_key:
        args += ["--set", f"{date_key}={{{{ ds }}}}"]
    args += [part for kv in env("FLYWHEEL_SETS").split() for part in ("--set", kv)]
    return SparkSubmitOperator(
        task_id=task_id,
        conn_id=env("FLYWHEEL_SPARK_CONN_ID"),
        application=f"{templated('FLYWHEEL_JOBS_DIR')}/{job}.py",
        py_files=templated("FLYWHEEL_WHEEL"),
        properties_file=templated("FLYWHEEL_SPARK_PROPERTIES"),
        application_args=args,
        env_vars={"FLYWHEEL_LOGICAL_DATE": "{{ ds }}", "FLYWHEEL_AIRFLOW_RUN_ID": "{{ run_id }}"},
        name=f"flywheel-{job}-{{{{ ds_nodash }}}}",
        **kwargs,
    )


def job_task(job: str, *, task_id: str | None = None, extra_args: list[str] | None = None, **kwargs: Any) -> Any:
    """The task for one pipeline job on this deployment's runner.

    cli: ``flywheel <job>``. spark-submit: ``jobs/<job>.py`` through the Spark provider, except
    ``train`` with ``FLYWHEEL_TRAIN_LAUNCHER=torchrun``, which runs ``flywheel train`` (torchrun
    launcher) on the GPU worker queue; the default ``distributor`` trains under TorchDistributor.
    """
    task_id = task_id or job
    extra = list(extra_args or [])
    if runner() == "cli":
        return cli_task(task_id, job, extra_args=" ".join(extra), **kwargs)
    if job == "train":
        launcher = env("FLYWHEEL_TRAIN_LAUNCHER")
        if launcher == "torchrun":
            return cli_task(
                task_id, job, extra_args="--set train.launcher=torchrun", queue=env("FLYWHEEL_GPU_QUEUE"), **kwargs
            )
        extra += ["--set", f"train.launcher={launcher}"]
    return spark_task(task_id, job, extra_args=extra, **kwargs)


def _setting(name: str) -> str:
    """A run-time setting inside a running task: the Airflow Variable, else the environment default."""
    from airflow.sdk import Variable

    value = Variable.get(name.lower(), default=None)
    return str(value) if value is not None else env(name)


def run_gate(gate: str, ds: str) -> str:
    """Run one data-quality gate with the project's interpreter; fail the task (no retry) when it fails.

    The gate reads the landing folder the project config names (``socialflywheel.quality``).
    """
    from airflow.sdk.exceptions import AirflowFailException

    cmd = [_setting("FLYWHEEL_PY"), "-m", "socialflywheel.quality", gate, "--date", ds]
    cmd += ["--conf", _setting("FLYWHEEL_CONF")]
    for kv in _setting("FLYWHEEL_SETS").split():
        cmd += ["--set", kv]
    if gate == "freshness":
        cmd += ["--max-lag-days", _setting("FLYWHEEL_FRESHNESS_MAX_LAG_DAYS")]
    else:
        cmd += ["--trailing-days", _setting("FLYWHEEL_VOLUME_TRAILING_DAYS")]
        cmd += ["--min-ratio", _setting("FLYWHEEL_VOLUME_MIN_RATIO")]
        cmd += ["--max-ratio", _setting("FLYWHEEL_VOLUME_MAX_RATIO")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    message = (proc.stderr.strip().splitlines() or [f"{gate} gate exited {proc.returncode}"])[-1]
    print(proc.stdout.strip())
    if proc.returncode != 0:
        # AirflowFailException: retrying within minutes does not change the landed data.
        raise AirflowFailException(message if GATE_FAILED in message else f"{GATE_FAILED}: {gate}: {message}")
    print(message)
    return proc.stdout.strip()


REQUEST_ID_PATTERN = r"^er-[0-9a-f]{32}$"


def erase_task(**kwargs: Any) -> Any:
    """``flywheel erase --request <id>``: the request was stored, pseudonymized, by ``flywheel erase-request``.

    Only the request id passes through Airflow (run configuration, rendered command, logs); the DAG's param
    schema refuses anything else, so raw user ids cannot be handed to it by mistake.
    """
    request = "{{ params.request_id }}"
    if runner() == "cli":
        return cli_task("erase", "erase", extra_args=f"--request {request}", **kwargs)
    return spark_task("erase", "erase", extra_args=["--request", request], **kwargs)

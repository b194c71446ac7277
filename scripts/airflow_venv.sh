#!/usr/bin/env bash
# Create the Airflow virtual environment (.venv-airflow by default), apart from the project venv.
#
# Airflow and the project never share an interpreter: the DAGs call the project's `flywheel`
# through FLYWHEEL_BIN (embedded default) or spark-submit (clusters). The install is pinned by
# infra/airflow/constraints.txt (pip freeze of the tested install: Airflow's published constraint
# files are online only). Idempotent: a venv whose stamp is newer than the pins is left alone.
#
# Usage: scripts/airflow_venv.sh [VENV_DIR]      (env: PY=python3.11, AIRFLOW_VENV=.venv-airflow)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${AIRFLOW_VENV:-$ROOT/.venv-airflow}}"
PY="${PY:-python3.11}"
REQS="$ROOT/infra/airflow/requirements.txt"
PINS="$ROOT/infra/airflow/constraints.txt"
STAMP="$VENV/.installed"

if [[ -f "$STAMP" && "$STAMP" -nt "$REQS" && "$STAMP" -nt "$PINS" && -x "$VENV/bin/airflow" ]]; then
  exit 0
fi

test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
if [[ -s "$PINS" ]]; then
  "$VENV/bin/pip" install -q -c "$PINS" -r "$REQS"
else
  "$VENV/bin/pip" install -q -r "$REQS"
fi
"$VENV/bin/airflow" version >/dev/null
touch "$STAMP"
echo "Airflow venv ready: $VENV ($("$VENV/bin/airflow" version 2>/dev/null | tail -n1))"

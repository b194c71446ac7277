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
"$ROOT/scripts/pinned_venv.sh" "$VENV" "$ROOT/infra/airflow/requirements.txt" "$ROOT/infra/airflow/constraints.txt" \
  airflow "./airflow version"
echo "Airflow venv ready: $VENV ($("$VENV/bin/airflow" version 2>/dev/null | tail -n1))"

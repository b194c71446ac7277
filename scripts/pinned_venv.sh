#!/usr/bin/env bash
# Create (or leave as is) a virtual environment apart from the project's, pinned by a constraints file.
#
# Used by scripts/airflow_venv.sh and scripts/flower_venv.sh: tools whose own pins conflict with the project's
# run in their own interpreter. Idempotent: a venv whose stamp is newer than the requirements and the pins, and
# that has CHECK_BIN, is left alone.
#
# Usage: scripts/pinned_venv.sh VENV_DIR REQUIREMENTS PINS CHECK_BIN CHECK_CMD     (env: PY=python3.11)
set -euo pipefail

VENV="$1" REQS="$2" PINS="$3" CHECK_BIN="$4" CHECK_CMD="$5"
PY="${PY:-python3.11}"
STAMP="$VENV/.installed"

if [[ -f "$STAMP" && "$STAMP" -nt "$REQS" && "$STAMP" -nt "$PINS" && -x "$VENV/bin/$CHECK_BIN" ]]; then
  exit 0
fi

test -x "$VENV/bin/python" || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
if [[ -s "$PINS" ]]; then
  "$VENV/bin/pip" install -q -c "$PINS" -r "$REQS"
else
  "$VENV/bin/pip" install -q -r "$REQS"
fi
(cd "$VENV/bin" && eval "$CHECK_CMD") >/dev/null
touch "$STAMP"

#!/usr/bin/env bash
# Create the Flower virtual environment (.venv-flower by default), apart from the project venv.
#
# Flower's pins (protobuf<7, typer<0.21, rich<15) conflict with the project's, so the federated processes run
# in their own interpreter with PYTHONPATH=<repo>/lib and import only socialflywheel.federated modules that need
# numpy, pyarrow, flwr and dp-accounting. Pinned by infra/flower/constraints.txt (pip freeze of the tested
# install). Idempotent: a venv whose stamp is newer than the pins is left alone.
#
# Usage: scripts/flower_venv.sh [VENV_DIR]      (env: PY=python3.11, FLOWER_VENV=.venv-flower)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-${FLOWER_VENV:-$ROOT/.venv-flower}}"
"$ROOT/scripts/pinned_venv.sh" "$VENV" "$ROOT/infra/flower/requirements.txt" "$ROOT/infra/flower/constraints.txt" \
  flower-superlink "./python -c 'import flwr, ray, pyarrow, dp_accounting'"
echo "Flower venv ready: $VENV (flwr $("$VENV/bin/python" -c 'import flwr; print(flwr.__version__)'))"

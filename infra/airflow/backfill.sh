#!/usr/bin/env bash
# Backfill a Social Flywheel DAG over a date range (both ends inclusive).
#
#   infra/airflow/backfill.sh flywheel_daily 2026-10-11 2026-10-12            # in-process
#   infra/airflow/backfill.sh flywheel_daily 2026-10-11 2026-10-12 --scheduler
#
# --scheduler: `airflow backfill create` (Airflow 3): the runs are created in the metadata DB and
#   executed by the deployment's scheduler, workers and API server, max one at a time.
# default (in-process): no scheduler needed, as on a laptop or in the test suite. Airflow's own
#   backfill planner (`airflow backfill create --dry-run`) lists the logical dates of the DAG's
#   schedule in the range; each date then runs in order with `airflow dags test`, and the
#   backfill stops at the first failed date.
# Needs AIRFLOW_HOME set (and the `airflow` of the Airflow venv on PATH, or AIRFLOW_BIN).
set -euo pipefail

if [[ $# -lt 3 ]]; then
  echo "usage: $0 DAG_ID FROM_DATE TO_DATE [--scheduler]" >&2
  exit 2
fi
DAG_ID="$1"; FROM="$2"; TO="$3"; MODE="${4:-}"
AIRFLOW="${AIRFLOW_BIN:-airflow}"

if [[ "$MODE" == "--scheduler" ]]; then
  exec "$AIRFLOW" backfill create --dag-id "$DAG_ID" --from-date "$FROM" --to-date "$TO" \
    --max-active-runs 1 --reprocess-behavior failed
fi

plan_dates() {
  "$AIRFLOW" backfill create --dag-id "$DAG_ID" --from-date "$FROM" --to-date "$TO" --dry-run 2>/dev/null \
    | grep -oE '^\| [0-9]{4}-[0-9]{2}-[0-9]{2}' | cut -c3- || true
}
mapfile -t dates < <(plan_dates)
if [[ ${#dates[@]} -eq 0 ]]; then  # a fresh metadata DB has not serialized the DAG yet
  "$AIRFLOW" dags reserialize >/dev/null 2>&1 || true
  mapfile -t dates < <(plan_dates)
fi
if [[ ${#dates[@]} -eq 0 ]]; then
  echo "backfill: no runs of $DAG_ID between $FROM and $TO (is the DAG parsed? see airflow dags list-import-errors)" >&2
  exit 1
fi
echo "backfill $DAG_ID: ${#dates[@]} run(s): ${dates[*]}"
for day in "${dates[@]}"; do
  echo "backfill $DAG_ID: running $day"
  if ! "$AIRFLOW" dags test "$DAG_ID" "$day"; then
    echo "backfill $DAG_ID: the run of $day failed; later dates were not run" >&2
    exit 1
  fi
done
echo "backfill $DAG_ID: ${#dates[@]} run(s) succeeded"

#!/usr/bin/env bash
# Production mode (`make serve`): checks the configuration, applies migrations, collects
# static files (hashed names), then runs gunicorn, a Celery worker and beat as separate
# processes with the same commands as deploy/*.service. SIGTERM or Ctrl-C stops each one
# cleanly: requests in flight finish, a task in flight finishes (or, if the worker is
# killed, is delivered again), beat saves its schedule.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV_BIN:-.venv/bin}
export DJANGO_ENV=${DJANGO_ENV:-production}
export HOST=${HOST:-127.0.0.1}
export PORT=${PORT:-8000}
RUN_DIR=${RUN_DIR:-var/run}
LOG_DIR=${LOG_DIR:-var/log}
# prometheus-client's multiprocess mode: every process writes its metrics here.
export PROMETHEUS_MULTIPROC_DIR=${PROMETHEUS_MULTIPROC_DIR:-$RUN_DIR/metrics}
export GUNICORN_PIDFILE=$RUN_DIR/web.pid
mkdir -p "$RUN_DIR" "$LOG_DIR"
echo $$ >"$RUN_DIR/serve.pid"
rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

"$BIN/python" manage.py check
"$BIN/python" manage.py migrate --noinput
"$BIN/python" manage.py collectstatic --noinput -v 0

pids=()
stop() {
  trap - INT TERM EXIT
  echo "Stopping (requests and tasks in flight finish first)..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
  echo "Stopped."
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Each process in its own session: Ctrl-C reaches this script only, which sends each one
# a single SIGTERM (a second signal would turn Celery's warm shutdown into a cold one).
setsid "$BIN/gunicorn" --config deploy/gunicorn.conf.py tfmot_portal.wsgi:application \
  >>"$LOG_DIR/web.log" 2>&1 &
pids+=($!)
setsid "$BIN/celery" -A tfmot_portal worker --hostname "worker@%h" \
  --concurrency "${CELERY_CONCURRENCY:-2}" --pidfile "$RUN_DIR/worker.pid" \
  >>"$LOG_DIR/worker.log" 2>&1 &
pids+=($!)
setsid "$BIN/celery" -A tfmot_portal beat \
  --scheduler django_celery_beat.schedulers:DatabaseScheduler --pidfile "$RUN_DIR/beat.pid" \
  >>"$LOG_DIR/beat.log" 2>&1 &
pids+=($!)
echo "Serving http://$HOST:$PORT/ (pids: web ${pids[0]}, worker ${pids[1]}, beat ${pids[2]})"
echo "Logs: $LOG_DIR/web.log, $LOG_DIR/worker.log, $LOG_DIR/beat.log"
# Runs until one process ends or a signal arrives; then the others are stopped too.
status=0
wait -n "${pids[@]}" || status=$?
exit "$status"

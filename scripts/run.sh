#!/usr/bin/env bash
# Serve the portal with a Celery worker and beat beside it; Ctrl-C stops them all.
# Without GITHUB_TOKEN the project's GitHub-shaped server runs on loopback and the
# sync talks to it (scripts/fake_github.sh); with it, the real GitHub API is used.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
mkdir -p var/log

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  # Give each process 10 s to finish its current work, then stop it hard.
  for _ in $(seq 1 20); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  echo "Stopped."
}
trap stop INT TERM EXIT

if [ -z "${GITHUB_TOKEN:-}" ] && [ -x scripts/fake_github.sh ]; then
  # shellcheck source=/dev/null
  source scripts/fake_github.sh
fi

.venv/bin/celery -A tfmot_portal worker --loglevel=INFO --concurrency=2 >var/log/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A tfmot_portal beat --loglevel=INFO >var/log/beat.log 2>&1 &
pids+=($!)
echo "Worker and beat logs: var/log/worker.log, var/log/beat.log"
echo "Portal: http://$HOST:$PORT/  (demo sign-in: carol / demo-password for staff, alice / demo-password for an owner)"
$PY manage.py runserver "$HOST:$PORT" --noreload &
pids+=($!)
wait -n "${pids[@]}"

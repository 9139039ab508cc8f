#!/usr/bin/env bash
# Load the demo data. Without GITHUB_TOKEN the GitHub part comes from the project's
# GitHub-shaped server (python -m fake_github), started here for the load and stopped
# after it, unless one already answers on FAKE_GITHUB_HOST:FAKE_GITHUB_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
started=""
if [ -z "${GITHUB_TOKEN:-}" ]; then
  FAKE_GITHUB_HOST=${FAKE_GITHUB_HOST:-127.0.0.1}
  FAKE_GITHUB_PORT=${FAKE_GITHUB_PORT:-8765}
  export GITHUB_API_URL="http://$FAKE_GITHUB_HOST:$FAKE_GITHUB_PORT"
  if ! $PY -c "import socket,sys; socket.create_connection(('$FAKE_GITHUB_HOST', $FAKE_GITHUB_PORT), 1)" 2>/dev/null; then
    mkdir -p var/log
    $PY -m fake_github --host "$FAKE_GITHUB_HOST" --port "$FAKE_GITHUB_PORT" \
      >var/log/fake_github.log 2>&1 &
    started=$!
    trap 'kill -TERM "$started" 2>/dev/null || true' EXIT
    for _ in $(seq 1 50); do
      $PY -c "import socket; socket.create_connection(('$FAKE_GITHUB_HOST', $FAKE_GITHUB_PORT), 1)" 2>/dev/null && break
      sleep 0.2
    done
  fi
fi
$PY manage.py load_demo

# Sourced by scripts/run.sh when GITHUB_TOKEN is not set: serve the project's
# GitHub-shaped API (demo dataset) on loopback and point the sync at it.
FAKE_GITHUB_HOST=${FAKE_GITHUB_HOST:-127.0.0.1}
FAKE_GITHUB_PORT=${FAKE_GITHUB_PORT:-8765}
mkdir -p var/log
.venv/bin/python -m fake_github --host "$FAKE_GITHUB_HOST" --port "$FAKE_GITHUB_PORT" \
  >var/log/fake_github.log 2>&1 &
pids+=($!)
export GITHUB_API_URL="http://$FAKE_GITHUB_HOST:$FAKE_GITHUB_PORT"
echo "GitHub-shaped API (demo data): $GITHUB_API_URL  (log: var/log/fake_github.log)"
# Sign in with GitHub against the same server (it approves at once, as ?login= or alice).
if [ -z "${GITHUB_OAUTH_CLIENT_ID:-}" ]; then
  export GITHUB_OAUTH_CLIENT_ID=demo-client GITHUB_OAUTH_CLIENT_SECRET=demo-secret
  export GITHUB_OAUTH_URL="$GITHUB_API_URL"
fi

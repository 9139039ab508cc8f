#!/usr/bin/env bash
# Load test: anonymous page views served by gunicorn under 32 concurrent connections for
# 30 s (wrk from a second process), against the scale-1 benchmark database.
# Usage: bench/load.sh [SCALE] [SECONDS]   (needs: bench/make_data.py --scale SCALE; apt-get install wrk)
# Exits non-zero below 500 requests/s or on any error response.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-1}
SECONDS_=${2:-30}
PORT=${PORT:-8391}
DB=$(.venv/bin/python -c "import sys; sys.path.insert(0, '.'); from bench.common import database_name; print(database_name($SCALE))")
export DATABASE_URL="${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
export DATABASE_URL="${DATABASE_URL%/*}/$DB"
export DJANGO_ENV=production SECRET_KEY="bench-$(head -c 48 /dev/urandom | base64 | tr -d '/+=')" \
       ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING \
       CACHE_URL=${CACHE_URL:-redis://127.0.0.1:6379/11} \
       CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/11}
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/gunicorn tfmot_portal.wsgi -b 127.0.0.1:$PORT -w ${WORKERS:-3} --log-level warning &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz" && break; sleep 0.2; done
SLUG=$(.venv/bin/python -c "import sys; sys.path.insert(0, '.'); from bench.common import setup_django; setup_django($SCALE); from techniques.models import Technique; print(Technique.objects.order_by('slug').first().slug)")
# Warm up every worker (templates, connections, the page cache) before measuring.
for _ in $(seq 1 8); do
  for path in / "/techniques/$SLUG/" /owners/ /api/techniques/ "/badges/$SLUG.svg"; do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT$path"
  done
done
cat > /tmp/tfmot-paths.lua <<LUA
paths = {"/", "/techniques/$SLUG/", "/owners/", "/api/techniques/", "/badges/$SLUG.svg"}
i = 0
request = function() i = i + 1; return wrk.format("GET", paths[(i % #paths) + 1]) end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f req/s, %d requests, %d errors (status %d, timeout %d), p50 %.1f ms, p99 %.1f ms\n",
    summary.requests / (summary.duration / 1e6), summary.requests,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status, summary.errors.timeout, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
LUA
OUT=$(wrk -t2 -c32 -d${SECONDS_}s -s /tmp/tfmot-paths.lua "http://127.0.0.1:$PORT")
echo "$OUT" | grep RESULT
RATE=$(echo "$OUT" | sed -n 's/^RESULT \([0-9.]*\) req.*/\1/p')
ERRORS=$(echo "$OUT" | sed -n 's/.*requests, \([0-9]*\) errors.*/\1/p')
awk -v r="$RATE" -v e="$ERRORS" 'BEGIN { if (r < 500 || e > 0) { print "TARGET MISSED: >= 500 req/s with no error"; exit 1 } print "Target met: >= 500 req/s, no error" }'

#!/usr/bin/env bash
# Production-style: gunicorn (deploy/gunicorn.conf.py) and the job worker; Ctrl-C stops both.
# Set DJANGO_ENV=production and the variables in .env.production.example for a real deployment.
set -euo pipefail
cd "$(dirname "$0")/.."
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-8000}

.venv/bin/python manage.py qcluster &
worker=$!
.venv/bin/gunicorn -c deploy/gunicorn.conf.py config.wsgi:application &
web=$!
stop() {
  trap - INT TERM EXIT
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap stop INT TERM EXIT
wait -n "$web" "$worker"

#!/usr/bin/env bash
# Development server and job worker together; Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-True}

"$PY" manage.py qcluster &
worker=$!
"$PY" manage.py runserver "$HOST:$PORT" &
web=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$web" "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap stop INT TERM EXIT

echo
echo "  Surgical Video Library: http://$HOST:$PORT/  (admin: http://$HOST:$PORT/admin/)"
echo "  Sign in with the administrator printed above. Ctrl-C stops the server and the worker."
echo
# Stop everything as soon as either process exits.
wait -n "$web" "$worker"

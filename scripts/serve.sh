#!/usr/bin/env bash
# The web server and the job worker together; Ctrl-C (or either one exiting) stops both.
#   scripts/serve.sh dev    runserver with DEBUG (make run)
#   scripts/serve.sh prod   gunicorn with deploy/gunicorn.conf.py (make serve); for a real
#                           deployment set DJANGO_ENV=production and .env.production.example's variables
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-8000}

case "${1:-dev}" in
  dev)
    export DEBUG=${DEBUG:-True}
    web_command=("$PY" manage.py runserver "$HOST:$PORT")
    ;;
  prod)
    web_command=(.venv/bin/gunicorn -c deploy/gunicorn.conf.py config.wsgi:application)
    ;;
  *) echo "usage: $0 dev|prod" >&2; exit 2 ;;
esac

"$PY" manage.py qcluster &
worker=$!
"${web_command[@]}" &
web=$!

stop() {
  trap - INT TERM EXIT
  kill -TERM "$web" "$worker" 2>/dev/null || true
  # Give both a graceful stop, then make sure nothing is left behind.
  for _ in $(seq 1 40); do
    kill -0 "$web" 2>/dev/null || kill -0 "$worker" 2>/dev/null || break
    sleep 0.5
  done
  kill -KILL "$web" "$worker" 2>/dev/null || true
  pkill -KILL -P "$worker" 2>/dev/null || true
  wait "$web" "$worker" 2>/dev/null || true
}
trap stop INT TERM EXIT

echo
echo "  Surgical Video Library: http://$HOST:$PORT/  (admin: http://$HOST:$PORT/admin/)"
echo "  Sign in with the administrator printed above. Ctrl-C stops the server and the worker."
echo
wait -n "$web" "$worker"

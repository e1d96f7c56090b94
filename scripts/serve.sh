#!/usr/bin/env bash
# The web server and both job clusters (short jobs; transcodes: settings.Q_TRANSCODE_CLUSTER)
# together; Ctrl-C, SIGTERM or SIGHUP to this script or its process group (or any of the three
# exiting) stops all of them within seconds, a transcode chunk in flight going back to the queue.
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

# Each cluster in a session of its own: a signal to this script's process group (Ctrl-C, a
# supervisor, `docker stop`) must reach only a cluster's main process, which then stops the rest
# in order (core/management/commands/qcluster.py). Signalled all at once, django-q2's guard dies
# on the spot and its main process hangs for ever: the orphans `make run` used to leave (#14).
setsid "$PY" manage.py qcluster &
worker=$!
Q_CLUSTER_NAME=transcode setsid "$PY" manage.py qcluster &
transcode=$!
"${web_command[@]}" &
web=$!

stop() {
  # Ignore the signals that follow (make passes its own SIGTERM on to this script): killed
  # halfway through, this function would leave the clusters running.
  trap '' INT TERM HUP
  trap - EXIT
  # The web server's own children too (runserver's reloaded child, gunicorn's workers): a
  # SIGTERM to this script alone must not leave them serving.
  pkill -TERM -P "$web" 2>/dev/null || true
  kill -TERM "$web" "$worker" "$transcode" 2>/dev/null || true
  # A graceful stop takes a few seconds (a chunk in flight is queued again, not finished); then
  # make sure nothing is left behind: each cluster is a process group of its own.
  for _ in $(seq 1 40); do
    kill -0 "$web" 2>/dev/null || kill -0 "$worker" 2>/dev/null || kill -0 "$transcode" 2>/dev/null || break
    sleep 0.5
  done
  pkill -KILL -P "$web" 2>/dev/null || true
  kill -KILL "$web" 2>/dev/null || true
  kill -KILL -- "-$worker" "-$transcode" 2>/dev/null || true
  wait "$web" "$worker" "$transcode" 2>/dev/null || true
}
trap stop INT TERM HUP EXIT

echo
echo "  Surgical Video Library: http://$HOST:$PORT/  (admin: http://$HOST:$PORT/admin/)"
echo "  Sign in with the administrator printed above. Ctrl-C stops the server and the workers."
echo
wait -n "$web" "$worker" "$transcode"

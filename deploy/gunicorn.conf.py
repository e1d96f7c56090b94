"""
gunicorn settings for a web node (https://docs.gunicorn.org/en/stable/settings.html).

Threaded workers (gthread). deploy/nginx.conf buffers ordinary request bodies, but streams
tus ``PATCH`` bodies (``/api/v1/uploads/``) straight through, so one upload chunk can take
minutes on a slow link. With gthread that holds one thread, not a whole worker, and
``timeout`` is not a request deadline: the worker's main loop reports to the master every
second while its threads serve requests ("For the non sync workers it just means that the
worker process is still communicating and is not tied to the length of time required to
handle a single request"). A body that stops arriving is ended by nginx's
``client_body_timeout``; the tus view has saved every byte it got, and the client resumes
from ``Upload-Offset``. With sync workers the same chunk would be killed after ``timeout``.

Every value can be changed through the environment (systemd ``EnvironmentFile=``).
"""

import multiprocessing
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
worker_class = "gthread"
# Threads per worker: each serves one request at a time (an upload chunk, a playlist, a
# segment when nginx does not take over with X-Accel-Redirect) and may keep its own
# PostgreSQL connection (DB_CONN_MAX_AGE): nodes x workers x threads must fit max_connections.
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# A worker whose main loop is silent this long is hung (not merely busy) and is replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 120))
# On SIGTERM/HUP requests in flight get this long; an upload chunk cut here resumes on the
# next node, since the tus view saves its offset whatever happens. Keep svl-web.service's
# TimeoutStopSec above it.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 60))
# nginx keeps upstream connections open (upstream keepalive); hold them a little longer
# than its keepalive_timeout so gunicorn never closes one nginx is about to reuse.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Our own middleware writes JSON access lines with the request id.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
# gunicorn itself believes X-Forwarded-* (scheme) only from these addresses; Django's
# client address comes from TRUSTED_PROXY_COUNT / TRUSTED_PROXIES (core/network.py).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_field_size = 16384
# The gunicornc control socket (gunicorn >= 25) defaults to ~/.gunicorn/gunicorn.ctl, which
# the service user may not own and which two instances on one host would share. Not used.
control_socket_disable = True
# Heartbeat files on tmpfs (gunicorn's FAQ): a slow or busy disk must not make a healthy
# worker look hung. Only gunicorn's own heartbeat files go there.
_tmpfs = "/dev/shm"  # noqa: S108
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", _tmpfs if os.path.isdir(_tmpfs) else None)

"""
What ``/healthz`` checks, and the job-queue numbers the staff dashboard shows.

Each check returns True or False and never raises: a health check that crashes tells a load
balancer nothing. Nothing here reports versions, hosts or error text (the endpoint is public).
"""

import logging
import shutil
import subprocess
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection

logger = logging.getLogger(__name__)

# Cluster states in which a django-q2 cluster takes jobs (django_q.conf.Conf).
_SERVING_STATES = {"Idle", "Working"}

# ``ffmpeg -version`` is run at most this often per process, not on every probe.
_FFMPEG_RECHECK_SECONDS = 300
_ffmpeg_seen: dict[str, float] = {}


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        logger.exception("health check: database unavailable")
        return False


def cache_ok() -> bool:
    """A round trip through the shared cache (rate limits across processes depend on it)."""
    key, value = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        cache.set(key, value, 10)
        ok = cache.get(key) == value
        cache.delete(key)
        return ok
    except Exception:
        logger.exception("health check: cache unavailable")
        return False


def worker_alive() -> bool:
    """
    Whether at least one django-q2 cluster is running. Every cluster's sentinel saves its
    status (``django_q.status.Stat``) to the broker every half second with a 3-second expiry;
    the Redis broker keeps it in Redis, the ORM broker in the shared Django cache (the
    database cache or Redis). So this works with either broker, as long as the web process
    and the worker share that cache, which every supported configuration does.

    The age of the last scheduled task would also work, but would go on reporting a dead
    worker as alive for as long as the schedule interval.
    """
    try:
        from django_q.status import Stat

        return any(str(stat.status) in _SERVING_STATES for stat in Stat.get_all())
    except Exception:
        logger.exception("health check: job queue status unavailable")
        return False


def queue_length() -> int | None:
    """Jobs waiting to be picked up by a worker (None when the broker cannot be asked)."""
    try:
        from django_q.conf import Conf

        if Conf.ORM:
            from django.utils import timezone
            from django_q.models import OrmQ

            # What django_q.brokers.orm.ORM.queue_size counts, without opening a broker.
            return OrmQ.objects.using(Conf.ORM).filter(key=Conf.CLUSTER_NAME, lock__lte=timezone.now()).count()
        from django_q.brokers import get_broker

        return get_broker().queue_size()
    except Exception:
        logger.exception("job queue length unavailable")
        return None


def ffmpeg_ok() -> bool:
    """FFmpeg and ffprobe are on the path and FFmpeg starts (checked at most every few minutes)."""
    binary = shutil.which(settings.FFMPEG_BIN)
    if binary is None or shutil.which(settings.FFPROBE_BIN) is None:
        return False
    checked = _ffmpeg_seen.get(binary)
    if checked is not None and time.monotonic() - checked < _FFMPEG_RECHECK_SECONDS:
        return True
    try:
        subprocess.run(  # noqa: S603 (an argv list, no shell; the binary comes from settings)
            [binary, "-hide_banner", "-version"], capture_output=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        logger.exception("health check: ffmpeg does not start")
        _ffmpeg_seen.pop(binary, None)
        return False
    _ffmpeg_seen[binary] = time.monotonic()
    return True


def run_checks() -> tuple[bool, dict]:
    """
    ``(healthy, body)``: healthy when everything needed to serve is up. The worker counts
    only when ``HEALTHZ_REQUIRE_WORKER`` is on (web-only nodes turn it off), but is
    reported either way.
    """
    checks = {
        "database": database_ok(),
        "cache": cache_ok(),
        "worker": worker_alive(),
        "ffmpeg": ffmpeg_ok(),
    }
    required = ["database", "cache", "ffmpeg"]
    if settings.HEALTHZ_REQUIRE_WORKER:
        required.append("worker")
    failed = [name for name in required if not checks[name]]
    body = {
        "status": "fail" if failed else "ok",
        "checks": {name: "ok" if ok else "fail" for name, ok in checks.items()},
        "worker_required": settings.HEALTHZ_REQUIRE_WORKER,
        "failed": failed,
    }
    return not failed, body

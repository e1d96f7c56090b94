"""
Plumbing shared by the benchmarks: the project's virtualenv, a throwaway Django environment
(SQLite, MEDIA_ROOT and STATIC_ROOT in one temp dir), generated clips and a gunicorn on
loopback. Everything a benchmark starts is stopped and deleted on exit, Ctrl-C or failure.
"""

# The commands run here are fixed (ffmpeg, gunicorn, this venv's python), never user input.
# ruff: noqa: S603, S606, S607

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"


def use_venv() -> None:
    """Re-run this script under the project's virtualenv unless it already is."""
    if Path(sys.prefix).resolve() != VENV.resolve() and (VENV / "bin" / "python").exists():
        os.execv(str(VENV / "bin" / "python"), [str(VENV / "bin" / "python"), *sys.argv])
    # SIGTERM/SIGHUP unwind like Ctrl-C, so every `finally` (servers, temp dirs) runs.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def main(function) -> None:
    """Run a benchmark's ``main``; Ctrl-C ends it quietly once every ``finally`` has cleaned up."""
    try:
        sys.exit(function())
    except KeyboardInterrupt:
        print("\ninterrupted: servers stopped, temporary files removed", file=sys.stderr)
        sys.exit(130)


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True)


def make_clip(target: Path, *, seconds: float, size: str, rate: int = 30, faststart: bool = False) -> Path:
    """testsrc2 + a 440 Hz tone, H.264 ultrafast + AAC in MP4."""
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440",
        "-t",
        str(seconds),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        *(["-movflags", "+faststart"] if faststart else []),
        str(target),
    )
    return target


@contextmanager
def django_env(name: str, *, log_level: str = "WARNING", database_url: str | None = None):
    """
    Point Django at a fresh temp dir (SQLite database, MEDIA_ROOT, STATIC_ROOT), migrate it and
    yield the dir; the environment is inherited by any gunicorn started inside. Deleted on exit.
    ``database_url`` replaces the SQLite database (an empty database the caller created and drops).
    """
    tmp = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    try:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DJANGO_ENV="development",
            DEBUG="False",
            SECRET_KEY=f"bench-{os.urandom(24).hex()}",
            DATABASE_URL=database_url or f"sqlite:///{tmp / 'db.sqlite3'}",
            MEDIA_ROOT=str(tmp / "media"),
            STATIC_ROOT=str(tmp / "static"),
            REDIS_URL="",
            MEDIA_ACCEL_REDIRECT_PREFIX="",
            VIDEOS_REQUIRE_APPROVAL="False",  # a finished transcode is published at once
            # … which nothing may hold back here: the details an approver would need
            # (PUBLISH_REQUIRED_FIELDS) and the privacy scan (bench/privacy turns it on itself).
            PUBLISH_REQUIRED_FIELDS="",
            PRIVACY_SCAN="False",
            LOG_LEVEL=log_level,
            Q_LOG_LEVEL="WARNING",
        )
        (tmp / "media").mkdir()
        (tmp / "static").mkdir()
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0, interactive=False)
        call_command("createcachetable", verbosity=0)
        yield tmp
    finally:
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        shutil.rmtree(tmp, ignore_errors=True)


def make_user(username: str = "bench"):
    """A Viewer + Uploader with the factories' password (``tests.factories.PASSWORD``)."""
    from tests.factories import PASSWORD, UserFactory

    return UserFactory(username=username, roles=["Viewer", "Uploader"]), PASSWORD


def video_from_file(user, path: Path, *, transcode: bool):
    """
    A video made by the upload service from ``path`` (which it consumes); with ``transcode``
    the job runs here and now (``transcode_here``; published: VIDEOS_REQUIRE_APPROVAL is off).
    The job the service queued for a worker is dropped: no worker runs during a benchmark.
    """
    import hashlib

    from django.db import transaction
    from django_q.models import OrmQ

    from videos import services

    digest = hashlib.md5(usedforsecurity=False)  # the library's duplicate key, as in videos.hashing
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    with transaction.atomic():
        video = services.video_create_from_file(
            user=user,
            path=path,
            filename="bench.mp4",
            md5=digest.hexdigest(),
            size=path.stat().st_size,
            metadata={"title": "Benchmark"},
        )
    OrmQ.objects.all().delete()
    if transcode:
        outcome = transcode_here(video.pk, video.job_token)
        if outcome != "ok":
            raise RuntimeError(f"transcode failed: {outcome}")
        video.refresh_from_db()
    return video


def run_transcode_queue() -> int:
    """
    Run the transcode queue's tasks here, oldest first, as one transcode worker would (the
    planning task, then each chunk task in the order the queue hands them out; a finished chunk
    queues the next), until the queue is empty. Returns how many ran. A stop signal (Ctrl-C,
    SIGTERM) puts the chunk in flight back, as in a worker, then ends the benchmark.
    """
    import pydoc

    from django.conf import settings
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    ran = 0
    while (entry := OrmQ.objects.filter(key=settings.Q_TRANSCODE_CLUSTER).order_by("id").first()) is not None:
        task = SignedPackage.loads(entry.payload)
        entry.delete()
        outcome = pydoc.locate(task["func"])(*task["args"], **task["kwargs"])
        ran += 1
        if str(outcome).startswith("stopping"):
            raise KeyboardInterrupt
    return ran


def transcode_here(video_id: int, token) -> str:
    """
    The whole transcode of a video, here and now: the planning task, then every chunk task
    (``run_transcode_queue``). "ok" once the ladder is complete, else the failure reason.
    """
    from videos import services
    from videos.models import Video

    outcome = services.video_transcode(video_id=video_id, token=str(token))
    if outcome.startswith("planned"):
        run_transcode_queue()
    video = Video.objects.get(pk=video_id)
    if video.job_token is None and video.status in (Video.Status.PROCESSED, Video.Status.PUBLISHED):
        return "ok"
    return video.failure_reason or outcome


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, process: subprocess.Popen, port: int, log: Path):
        self.process, self.port, self.log = process, port, log

    def workers(self) -> list[int]:
        """Pids of the gunicorn workers (the master's children)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(entry.name))
        return sorted(pids)


@contextmanager
def gunicorn(tmp: Path, *, workers: int, threads: int, **env_overrides: str):
    """deploy/gunicorn.conf.py on 127.0.0.1:<free port>, stopped (TERM, then KILL) on exit."""
    port, log = free_port(), tmp / "gunicorn.log"
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
        **env_overrides,
    }
    # --max-requests 0: a worker recycled mid-run would land on one side of a comparison only.
    argv = [
        str(VENV / "bin" / "gunicorn"),
        "-c",
        "deploy/gunicorn.conf.py",
        "--max-requests",
        "0",
        "config.wsgi:application",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        server = Server(process, port, log)
        deadline = time.monotonic() + 60
        while len(server.workers()) < workers or not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield server
    finally:
        _stop(process)


def _answers(port: int) -> bool:
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/static/")
        conn.getresponse().read()
        conn.close()
        return True
    except OSError:
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=35)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def jwt(port: int, username: str, password: str) -> str:
    import requests

    response = requests.post(
        f"http://127.0.0.1:{port}/api/v1/auth/token/", json={"username": username, "password": password}, timeout=30
    )
    response.raise_for_status()
    return response.json()["access"]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def median(values: list[float]) -> float:
    return statistics.median(values)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"

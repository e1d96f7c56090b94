"""
Stopping the workers (issue #14): every stop signal ends every process within seconds, and the
transcode chunk in flight goes back to the queue with its FFmpeg gone.

Real processes on a throwaway SQLite database and MEDIA_ROOT: `make run` (minus its setup
steps) or a bare transcode ``qcluster``, a real case being encoded, then the signal a
supervisor sends. Every process started here carries a mark in its environment, so the test
finds what is left (FFmpeg included, whatever its session) and kills it afterwards.
"""

import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing, suppress
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
MARK = "SVL_STOP_TEST"
# Within this many seconds of the signal every process must be gone.
STOP_SECONDS = 15

CASE = """
import hashlib, pathlib
from django.db import transaction
from tests.factories import UserFactory
from videos import services
path = pathlib.Path({path!r})
user = UserFactory(username="surgeon", roles=["Viewer", "Uploader"])
with transaction.atomic():
    services.video_create_from_file(user=user, path=path, filename="case.mp4",
        md5=hashlib.md5(path.read_bytes(), usedforsecurity=False).hexdigest(),
        size=path.stat().st_size, metadata={{"title": "Stop test"}})
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def marked(tmp_path) -> list[int]:
    """Live processes (zombies are dead) carrying this test's mark."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{MARK}={tmp_path}".encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def describe(pids: list[int]) -> list[str]:
    said = []
    for pid in pids:
        with suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            said.append(f"{pid} {b' '.join(argv).decode(errors='replace')[:90]}")
    return said


def encoders(tmp_path) -> list[int]:
    """FFmpeg processes encoding a chunk of the case."""
    found = []
    for pid in marked(tmp_path):
        with suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if argv[0].endswith(b"ffmpeg") and any(b"chunk_" in arg for arg in argv):
                found.append(pid)
    return found


def chunks(db: Path) -> list[tuple]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return conn.execute("SELECT kind, `index`, status, attempts FROM videos_transcodechunk ORDER BY id").fetchall()


def queued_tasks(db: Path) -> list[str]:
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return [key for (key,) in conn.execute("SELECT key FROM django_q_ormq")]


def wait(predicate, *, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not within {timeout:.0f} s; log:\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)
    return value


@pytest.fixture
def instance(tmp_path):
    """A migrated throwaway database and MEDIA_ROOT, a 30 s 720p case queued for transcoding."""
    env = {
        **os.environ,
        MARK: str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV": "development",
        "DEBUG": "True",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "REDIS_URL": "",
        "LOG_LEVEL": "INFO",
        "Q_LOG_LEVEL": "INFO",
        "Q_TRANSCODE_WORKERS": "1",
        # One long first chunk at a slow preset: the signal always lands mid-encode.
        "TRANSCODE_PRESET": "medium",
        "TRANSCODE_FIRST_CHUNK_SECONDS": "30",
        "PYTHONUNBUFFERED": "1",
    }
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    clip = tmp_path / "case.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-t", "32",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(clip)],
        check=True,
    )  # fmt: skip
    subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", CASE.format(path=str(clip))],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    yield env, tmp_path / "db.sqlite3"
    for pid in marked(tmp_path):  # whatever a failed test left running
        with suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def start(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    """In a session of its own, as a supervisor or a terminal starts it."""
    with open(log, "wb") as out:
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip


def assert_stopped_with_chunk_requeued(tmp_path, db: Path, ffmpeg: list[int], log: Path, signalled: float) -> None:
    while (left := marked(tmp_path)) and time.monotonic() - signalled < STOP_SECONDS:
        time.sleep(0.1)
    took = time.monotonic() - signalled
    assert not left, (
        f"still running {took:.0f} s after the signal: {describe(left)}\n{log.read_text(errors='replace')[-3000:]}"
    )
    assert not [pid for pid in ffmpeg if Path(f"/proc/{pid}").exists()]
    # The chunk in flight is back in the queue, its attempt given back, a task waiting for it.
    assert chunks(db)[0] == ("video", 0, "queued", 0), (chunks(db), log.read_text(errors="replace")[-3000:])
    assert "transcode" in queued_tasks(db)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_stop_signal_to_make_runs_process_group_ends_every_process(instance, tmp_path, sig):
    """A supervisor's SIGTERM or Ctrl-C in the terminal: web, both clusters, FFmpeg all gone."""
    env, db = instance
    log, port = tmp_path / "make-run.log", free_port()
    # `-o migrate`: the setup steps (packages, CSS, migrate) are not what is tested here.
    run = start(["make", "--no-print-directory", "-o", "migrate", "run", f"PORT={port}"], env, log)
    try:
        wait(lambda: log.read_text(errors="replace").count("running.") >= 2, timeout=90, what="both clusters", log=log)
        ffmpeg = wait(lambda: encoders(tmp_path), timeout=90, what="the first chunk's FFmpeg", log=log)
        time.sleep(1)
        assert chunks(db)[0][2] == "running"
        os.killpg(run.pid, sig)
        signalled = time.monotonic()
        assert_stopped_with_chunk_requeued(tmp_path, db, ffmpeg, log, signalled)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)


@pytest.mark.parametrize("whom", ["main process", "process group"])
def test_sigterm_to_the_transcode_cluster_ends_it_with_the_chunk_requeued(instance, tmp_path, whom):
    """
    systemd's KillMode=mixed and `docker stop` signal the main process; KillMode=control-group
    and `kill -- -<pgid>` signal every process of the cluster at once.
    """
    env, db = instance
    log = tmp_path / "qcluster.log"
    cluster = start([PYTHON, "manage.py", "qcluster"], {**env, "Q_CLUSTER_NAME": "transcode"}, log)
    try:
        ffmpeg = wait(lambda: encoders(tmp_path), timeout=90, what="the first chunk's FFmpeg", log=log)
        time.sleep(1)
        assert chunks(db)[0][2] == "running"
        if whom == "main process":
            cluster.send_signal(signal.SIGTERM)
        else:
            os.killpg(cluster.pid, signal.SIGTERM)
        signalled = time.monotonic()
        assert_stopped_with_chunk_requeued(tmp_path, db, ffmpeg, log, signalled)
        if whom == "main process":
            assert cluster.wait(timeout=5) == 0  # a clean stop: systemd's Restart=on-failure leaves it down
    finally:
        with suppress(ProcessLookupError):
            os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait(timeout=30)

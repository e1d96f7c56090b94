"""
What every fault check needs on top of bench/common.py (venv, throwaway Django env, clips):
its PASS/FAIL lines, servers it can kill on purpose and start again on the same port
(gunicorn, the django-q2 transcode worker), plain HTTP with a deadline, and the process tree.

Every process a check starts inherits ``FAULTTEST_RUN=<run dir>`` and every temp dir lives
under that run dir, so scripts/faulttest can find and remove whatever a check left behind
(killed check, Ctrl-C) without touching anything it did not start.
"""

# The commands run here are fixed (gunicorn, manage.py, ffmpeg), never user input.
# ruff: noqa: S603, S607

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "bench") not in sys.path:
    sys.path.insert(0, str(ROOT / "bench"))

import common  # noqa: E402  (bench/common.py)

MARK = "FAULTTEST_RUN"
PYTHON = str(common.VENV / "bin" / "python")
# Words that must never reach a client in an error answer (a traceback or driver message leaked).
LEAKS = ("Traceback", 'File "/', "psycopg", "OperationalError", "redis.exceptions", "ConnectionError", "/work/")


# ------------------------------------------------------------------------------ report


@dataclass
class Report:
    """The PASS/FAIL lines of one check; ``results`` is what the parent script summarises."""

    name: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def check(self, label: str, ok: bool, detail: str = "") -> bool:
        print(f"  {'PASS' if ok else 'FAIL'}  {label}" + (f": {detail}" if detail else ""), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed.append(f"{label}: {detail}" if detail else label)
        return ok

    def note(self, text: str) -> None:
        print(f"  NOTE  {text}", flush=True)
        self.notes.append(text)

    def step(self, text: str) -> None:
        print(f"  ....  {text}", flush=True)


def md5_file(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.25, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; that value, or TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.0f} s")
        time.sleep(interval)


# ------------------------------------------------------------------------------ processes


def spawn(argv: list[str], log: Path, *, env: dict | None = None) -> subprocess.Popen:
    """A server in its own process group (so it can be killed whole), output to ``log``."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv,
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


def signal_group(process: subprocess.Popen, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def stop_group(process: subprocess.Popen | None, *, timeout: float = 35) -> None:
    """TERM the process group, then KILL it; waits for the leader."""
    if process is None or process.poll() is not None:
        if process is not None:
            signal_group(process, signal.SIGKILL)  # stragglers of a dead leader
        return
    signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        signal_group(process, signal.SIGKILL)
        process.wait()
    signal_group(process, signal.SIGKILL)


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name_end = text.rindex(")")
    return [text[: name_end + 1], *text[name_end + 2 :].split()]


def alive(pid: int) -> bool:
    """Running (a zombie is dead, only not reaped yet)."""
    stat = _stat(pid)
    return stat is not None and stat[1] != "Z"


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren…)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                parents.setdefault(int(stat[2]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return [p for p in found if alive(p)]


def wait_dead(pids: list[int], timeout: float) -> tuple[bool, float]:
    """Whether every pid is gone within ``timeout`` seconds, and how long it took."""
    started = time.monotonic()
    while any(alive(pid) for pid in pids):
        if time.monotonic() - started > timeout:
            return False, time.monotonic() - started
        time.sleep(0.02)
    return True, time.monotonic() - started


# ------------------------------------------------------------------------------ HTTP


@dataclass
class Answer:
    status: int | None
    headers: dict
    body: bytes
    seconds: float
    error: str = ""

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self):
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def leaks(self) -> list[str]:
        return [word for word in LEAKS if word in self.text]

    def describe(self) -> str:
        if self.status is None:
            return f"no answer ({self.error})"
        return f"{self.status} in {self.seconds:.2f} s"


def request(
    port: int,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: dict | None = None,
    timeout: float = 10,
) -> Answer:
    """One request on a new connection; never raises (no answer → ``status`` None)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers={"Host": f"127.0.0.1:{port}", **(headers or {})})
        response = conn.getresponse()
        data = response.read()
        return Answer(
            response.status, {k.lower(): v for k, v in response.getheaders()}, data, time.monotonic() - started
        )
    except (OSError, http.client.HTTPException) as error:
        return Answer(None, {}, b"", time.monotonic() - started, f"{error.__class__.__name__}: {error}")
    finally:
        conn.close()


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# ------------------------------------------------------------------------------ servers


class Web:
    """
    gunicorn with deploy/gunicorn.conf.py on a fixed loopback port, so it can be killed and
    started again where clients expect it (bench/common.gunicorn picks a new port each time).
    """

    def __init__(self, tmp: Path, *, port: int | None = None, workers: int = 1, threads: int = 4, **env: str):
        self.tmp, self.port, self.workers, self.threads = tmp, port or common.free_port(), workers, threads
        self.env = env
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 90) -> float:
        """Start and wait until every worker is up and the port answers; returns the seconds taken."""
        started = time.monotonic()
        self.starts += 1
        env = {
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "WEB_CONCURRENCY": str(self.workers),
            "GUNICORN_THREADS": str(self.threads),
            "GUNICORN_LOG_LEVEL": "warning",
            **self.env,
        }
        argv = [
            str(common.VENV / "bin" / "gunicorn"),
            "-c",
            "deploy/gunicorn.conf.py",
            "--max-requests",
            "0",
            "config.wsgi:application",
        ]
        self.process = spawn(argv, self.tmp / f"gunicorn-{self.port}.log", env=env)
        while len(self.worker_pids()) < self.workers or request(self.port, "GET", "/static/", timeout=5).status is None:
            if self.process.poll() is not None or time.monotonic() - started > timeout:
                log = (self.tmp / f"gunicorn-{self.port}.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"gunicorn did not start:\n{log}")
            time.sleep(0.1)
        return time.monotonic() - started

    def worker_pids(self) -> list[int]:
        return sorted(descendants(self.process.pid)) if self.process else []

    def signal(self, sig: int, *, group: bool) -> None:
        if group:
            signal_group(self.process, sig)
        else:
            with suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def stop(self) -> None:
        stop_group(self.process)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()


def transcode_cluster_env() -> dict:
    """
    The environment of a worker that takes transcodes: the transcode cluster when settings
    define one (README "Scaling out": ``Q_CLUSTER_NAME=transcode manage.py qcluster``).
    """
    from django.conf import settings

    name = getattr(settings, "Q_TRANSCODE_CLUSTER", None)
    if name and name in (settings.Q_CLUSTER.get("ALT_CLUSTERS") or {}):
        return {"Q_CLUSTER_NAME": name}
    return {}


class Worker:
    """``manage.py qcluster`` for transcodes, in its own process group."""

    def __init__(self, tmp: Path, label: str):
        self.tmp, self.label = tmp, label
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.process = spawn(
            [PYTHON, "manage.py", "qcluster"], self.tmp / f"qcluster-{self.label}.log", env=transcode_cluster_env()
        )
        return self

    def __exit__(self, *exc):
        stop_group(self.process, timeout=10)

    def ffmpeg_pids(self) -> list[int]:
        return [pid for pid in descendants(self.process.pid) if comm(pid) == "ffmpeg"]

    def encoder_pids(self) -> list[int]:
        """The FFmpeg encoding a chunk of the ladder (not the poster's, not the audio's)."""
        pids = []
        for pid in self.ffmpeg_pids():
            with suppress(OSError):
                if b"/chunk_" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    pids.append(pid)
        return pids

    def log_tail(self) -> str:
        return (self.tmp / f"qcluster-{self.label}.log").read_text(errors="replace")[-2000:]


# ------------------------------------------------------------------------------ library


def queue_video(user, path: Path, *, filename: str = "case.mp4"):
    """
    A video made by the upload service from ``path`` (consumed), its transcode queued on the
    broker for a real worker to take (unlike bench/common.video_from_file, which runs it here).
    """
    from django.db import transaction

    from videos import services

    md5, size = md5_file(path), path.stat().st_size
    with transaction.atomic():
        video = services.video_create_from_file(
            user=user,
            path=path,
            filename=filename,
            md5=md5,
            size=size,
            metadata={"title": "Fault test case"},
        )
    return video


def video_row(video_id: int) -> dict:
    from videos.models import Video

    row = (
        Video.objects.filter(pk=video_id)
        .values("status", "progress", "job_token", "heartbeat_at", "failure_reason", "hls_key")
        .first()
    )
    if row is not None and row["hls_key"] is not None:
        row["hls_key"] = bytes(row["hls_key"])
    return row


def first_segment(port: int, token: str, video_uuid) -> tuple[Answer, Answer | None, Answer | None]:
    """master → first variant → first segment, through the app with a JWT."""
    master = request(port, "GET", f"/api/v1/videos/{video_uuid}/hls/master.m3u8", headers=bearer(token))
    if master.status != 200:
        return master, None, None
    variant_path = next(line for line in master.text.splitlines() if line and not line.startswith("#"))
    variant = request(port, "GET", variant_path)
    if variant.status != 200:
        return master, variant, None
    segment_path = next(line for line in variant.text.splitlines() if line and not line.startswith("#"))
    return master, variant, request(port, "GET", segment_path)


def play(port: int, token: str, video_uuid, seconds: float = 2) -> tuple[bool, str]:
    """
    FFmpeg plays the signed master URL the API hands out (variants, AES key, segments all
    through the app) for ``seconds``; (ok, what it said).
    """
    detail = request(port, "GET", f"/api/v1/videos/{video_uuid}/", headers=bearer(token))
    hls_url = (detail.json() or {}).get("hls_url") if detail.status == 200 else None
    if not hls_url:
        return False, f"no hls_url (detail {detail.describe()})"
    parts = urlsplit(hls_url)
    url = f"http://127.0.0.1:{port}{parts.path}?{parts.query}"
    done = subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-i", url, "-map", "0:v:0", "-t", str(seconds), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    heights = sorted(
        {
            s.get("height")
            for s in (json.loads(probe.stdout or "{}").get("streams") or [])
            if s.get("codec_type") == "video"
        },
        reverse=True,
    )
    ok = done.returncode == 0 and probe.returncode == 0 and bool(heights)
    said = (done.stderr or probe.stderr).strip().splitlines()[-1:] or [""]
    return (
        ok,
        f"ffmpeg decoded {seconds:g} s (exit {done.returncode}), ffprobe sees heights {heights} {said[0]}".strip(),
    )


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0

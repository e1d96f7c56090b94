"""
postgres-restart: PostgreSQL goes away under a serving gunicorn and comes back.

A private cluster (initdb in the run dir, its own port, run as the `postgres` user; the
machine's own PostgreSQL is never touched) holds the app's database. Two clients poll without
pause — the video list API with a JWT, and /healthz — while the cluster is restarted
(`pg_ctl restart -m fast`) and, separately, stopped for 3 s and started. During each outage
every request must end before the client's timeout with a clean error (503 with Retry-After: JSON or a page, no
traceback or driver text); afterwards requests must succeed again from the same gunicorn
workers (CONN_HEALTH_CHECKS reconnects; nobody restarts the web server).
"""

# The commands run here are fixed (runuser, initdb, pg_ctl, chown), never user input.
# ruff: noqa: S603, S607

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from . import harness
from .harness import Report, Web, common, request

PG_BIN = Path("/usr/lib/postgresql/15/bin")
CLIENT_TIMEOUT = 10
SETTLE_SECONDS = 5  # after PostgreSQL is back, every request from then on must succeed


class Postgres:
    """A throwaway cluster in ``base`` on ``port`` (loopback and a socket dir of its own)."""

    def __init__(self, base: Path, port: int):
        self.base, self.port = base, port
        self.data, self.sockets, self.log = base / "data", base / "sockets", base / "postgres.log"

    def _run(self, *argv: str, timeout: float = 90) -> subprocess.CompletedProcess:
        done = subprocess.run(
            ["runuser", "-u", "postgres", "--", *argv],
            cwd=self.base,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"{' '.join(argv[:3])}… exited {done.returncode}: {done.stderr.strip()[-500:]}")
        return done

    def init(self) -> None:
        for folder in (self.base, self.data, self.sockets):
            folder.mkdir(exist_ok=True)
        self.log.touch()
        self.base.chmod(0o755)
        subprocess.run(["chown", "-R", "postgres:postgres", str(self.base)], check=True)
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-locale",
            "-E",
            "UTF8",
            "--no-sync",
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start"
        )

    def restart(self) -> None:
        # -l again: without it the new postmaster would write to (and hold open) our pipe.
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-m", "fast", "restart"
        )

    def stop(self, mode: str = "fast") -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", "-m", mode, "stop")

    def createdb(self, name: str) -> None:
        self._run(str(PG_BIN / "createdb"), "-h", str(self.sockets), "-p", str(self.port), "-U", "postgres", name)

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"


@dataclass
class Sample:
    endpoint: str
    start: float
    end: float
    answer: harness.Answer


class Poller(threading.Thread):
    """Requests ``path`` back to back (a new connection each) until stopped."""

    def __init__(self, port: int, endpoint: str, path: str, headers: dict):
        super().__init__(daemon=True)
        self.port, self.endpoint, self.path, self.headers = port, endpoint, path, headers
        self.samples: list[Sample] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            start = time.monotonic()
            answer = request(self.port, "GET", self.path, headers=self.headers, timeout=CLIENT_TIMEOUT)
            self.samples.append(Sample(self.endpoint, start, time.monotonic(), answer))
            time.sleep(0.05)


def _clean_failure(sample: Sample) -> str:
    """'' when a failed answer is acceptable during an outage, else what is wrong with it."""
    answer = sample.answer
    if answer.status is None:
        return f"no HTTP answer ({answer.error})"
    if answer.status < 500:
        return f"status {answer.status}"
    if answer.leaks():
        return f"{answer.status} leaks {answer.leaks()}"
    if sample.endpoint == "healthz":
        body = answer.json() or {}
        # The database cache lives in PostgreSQL too: either check may be the one that caught it.
        failed = set(body.get("failed", []))
        return "" if answer.status == 503 and failed and failed <= {"database", "cache"} else f"{answer.status} {body}"
    # The database is down, not the application: 503 with Retry-After and a message.
    if answer.status != 503 or not answer.headers.get("retry-after"):
        return f"{answer.status} (want 503 with Retry-After) {answer.text[:120]!r}"
    body = answer.json()
    if isinstance(body, dict) and body.get("detail"):
        return ""
    return "" if "<html" in answer.text.lower() else f"{answer.status} body {answer.text[:120]!r}"


def run(report: Report, *, quick: bool) -> None:
    base = Path(tempfile.gettempdir()) / f"postgres-{os.getpid()}"  # the run dir (TMPDIR)
    pg = Postgres(base, common.free_port())
    try:
        started = time.monotonic()
        pg.init()
        pg.start()
        pg.createdb("svl_faults")
        report.step(f"private PostgreSQL 15 on 127.0.0.1:{pg.port} ready in {time.monotonic() - started:.1f} s")
        os.environ["HEALTHZ_REQUIRE_WORKER"] = "False"  # no qcluster here; /healthz is about the database
        with common.django_env("faults-pg", database_url=pg.url("svl_faults")) as tmp:
            from django.db import connections

            user, password = common.make_user("reader")
            connections.close_all()  # this process holds no connection through the outages
            report.step(f"migrated in {time.monotonic() - started:.0f} s (cluster + schema)")
            with Web(tmp, workers=2, threads=4) as web:
                token = common.jwt(web.port, user.username, password)
                workers_before = web.worker_pids()
                pollers = [
                    Poller(web.port, "api", "/api/v1/videos/", harness.bearer(token)),
                    Poller(web.port, "healthz", "/healthz", {}),
                ]
                for poller in pollers:
                    poller.start()
                try:
                    time.sleep(2)
                    _outage(report, pollers, "restart -m fast", pg.restart)

                    def stop_start():
                        pg.stop("fast")
                        time.sleep(3)
                        pg.start()

                    _outage(report, pollers, "stop 3 s + start", stop_start)
                finally:
                    for poller in pollers:
                        poller.stopping.set()
                    for poller in pollers:
                        poller.join(timeout=CLIENT_TIMEOUT + 5)
                samples = [s for poller in pollers for s in poller.samples]
                first = min(s.start for s in samples)
                baseline = [s for s in samples if s.start < first + 1.5]
                report.check(
                    "before any outage every request succeeds",
                    all(s.answer.status == 200 for s in baseline),
                    f"{len(baseline)} requests",
                )
                slowest = max(samples, key=lambda s: s.end - s.start)
                report.check(
                    f"no request hangs (client timeout {CLIENT_TIMEOUT} s)",
                    slowest.end - slowest.start < CLIENT_TIMEOUT - 1,
                    f"{len(samples)} requests in all, slowest {slowest.end - slowest.start:.2f} s "
                    f"({slowest.endpoint}, {slowest.answer.describe()})",
                )
                workers_after = web.worker_pids()
                report.check(
                    "the same gunicorn workers served throughout (no restart)",
                    workers_after == workers_before and web.process.poll() is None,
                    f"workers {workers_before} → {workers_after}",
                )
    finally:
        if pg.running:
            pg.stop("immediate")


def _outage(report: Report, pollers: list[Poller], label: str, action) -> None:
    for poller in pollers:
        poller.samples_marker = len(poller.samples)
    begun = time.monotonic()
    action()
    back = time.monotonic()  # pg_ctl -w returned: PostgreSQL accepts connections again
    time.sleep(SETTLE_SECONDS + 2)
    samples = [s for poller in pollers for s in poller.samples[poller.samples_marker :]]
    during = [s for s in samples if s.end >= begun and s.start <= back]
    failed = [s for s in during if s.answer.status != 200]
    bad = [(s, _clean_failure(s)) for s in failed]
    bad = [(s, why) for s, why in bad if why]
    statuses: dict[str, int] = {}
    for s in failed:
        statuses[f"{s.endpoint} {s.answer.status}"] = statuses.get(f"{s.endpoint} {s.answer.status}", 0) + 1
    report.check(
        f"{label}: failures during the outage are clean errors",
        not bad,
        f"outage {back - begun:.1f} s; {len(during)} requests: {len(during) - len(failed)} ok, "
        f"{len(failed)} failed ({', '.join(f'{k}×{v}' for k, v in sorted(statuses.items())) or 'none'})"
        + (f"; BAD: {[why for _, why in bad[:3]]}" if bad else ""),
    )
    for endpoint in ("api", "healthz"):
        example = next((s for s in failed if s.endpoint == endpoint), None)
        if example is not None:
            report.note(
                f"{label}: {endpoint} during the outage answers {example.answer.status} {example.answer.text[:160]!r}"
            )
    recovery = []
    for poller in pollers:
        after = [s for s in poller.samples[poller.samples_marker :] if s.start >= back]
        first_ok = next((s for s in after if s.answer.status == 200), None)
        recovery.append((poller.endpoint, first_ok.end - back if first_ok else None))
    settled = [s for s in samples if s.start >= back + SETTLE_SECONDS]
    report.check(
        f"{label}: recovers without restarting gunicorn",
        all(seconds is not None for _, seconds in recovery)
        and settled
        and all(s.answer.status == 200 for s in settled),
        "first success "
        + ", ".join(f"{name} {seconds:.2f} s" if seconds is not None else f"{name} never" for name, seconds in recovery)
        + f" after PostgreSQL was back; {sum(s.answer.status == 200 for s in settled)}/{len(settled)} ok "
        f"from {SETTLE_SECONDS} s on",
    )

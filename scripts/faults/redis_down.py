"""
redis-down: the shared cache (REDIS_URL) disappears under a serving gunicorn, then returns.

A private redis-server (own port; the machine's Redis is never touched) is the app's cache,
which holds the rate-limit counters, the search synonyms and the workers' status. With it
stopped, the site must keep serving signed-in reads and pages; sign-in must be refused with
429 or 503 and a message (rate limits fail closed: django-ratelimit's RATELIMIT_FAIL_OPEN is
off), never a 500; /healthz must answer 503 naming the cache. When Redis is back everything
must work again without restarting anything.
"""

import re
import socket
import time

import requests

from . import harness
from .harness import Report, Web, common, request

TIMEOUT = 10


class Redis:
    def __init__(self, tmp, port: int):
        self.tmp, self.port, self.process = tmp, port, None

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        self.process = harness.spawn(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            self.tmp / "redis.log",
        )
        harness.wait_for(self.ping, timeout=20, interval=0.1, what="redis-server answering PING")

    def stop(self) -> None:
        harness.stop_group(self.process, timeout=10)


class Browser:
    """A signed-in web session: the login form with its CSRF token, then pages."""

    def __init__(self, port: int):
        self.port, self.session = port, requests.Session()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def login(self, username: str, password: str) -> tuple[int | None, str, float]:
        started = time.monotonic()
        try:
            page = self.session.get(self.url("/accounts/login/"), timeout=TIMEOUT)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            if page.status_code != 200 or token is None:
                return page.status_code, f"login page: {page.text[:200]}", time.monotonic() - started
            answer = self.session.post(
                self.url("/accounts/login/"),
                timeout=TIMEOUT,
                allow_redirects=False,
                data={"csrfmiddlewaretoken": token.group(1), "username": username, "password": password},
            )
            return answer.status_code, answer.text, time.monotonic() - started
        except requests.RequestException as error:
            return None, str(error), time.monotonic() - started

    def get(self, path: str) -> tuple[int | None, str]:
        try:
            answer = self.session.get(self.url(path), timeout=TIMEOUT, allow_redirects=False)
            return answer.status_code, answer.text
        except requests.RequestException as error:
            return None, str(error)


def _leaks(text: str) -> list[str]:
    return [word for word in harness.LEAKS if word in text]


def _visible_text(html: str) -> str:
    main = re.search(r"<main.*?</main>", html, re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", main.group(0) if main else html).split())[:200]


def run(report: Report, *, quick: bool) -> None:
    with common.django_env("faults-redis") as tmp:
        user, password = common.make_user("reader")
        redis = Redis(tmp, common.free_port())
        redis.start()
        try:
            with Web(
                tmp, workers=1, threads=4, REDIS_URL=f"redis://127.0.0.1:{redis.port}/0", HEALTHZ_REQUIRE_WORKER="False"
            ) as web:
                _exercise(report, web, redis, user.username, password)
        finally:
            redis.stop()


def _token(port: int, username: str, password: str) -> harness.Answer:
    import json

    return request(
        port,
        "POST",
        "/api/v1/auth/token/",
        timeout=TIMEOUT,
        body=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )


def _exercise(report: Report, web: Web, redis: Redis, username: str, password: str) -> None:
    port = web.port
    signed_in = _token(port, username, password)
    if not report.check("Redis up: API sign-in", signed_in.status == 200, signed_in.describe()):
        return
    auth = harness.bearer(signed_in.json()["access"])
    browser = Browser(port)
    status, _, _ = browser.login(username, password)
    report.check("Redis up: web sign-in", status == 302, f"POST /accounts/login/ → {status}")
    health = request(port, "GET", "/healthz")
    report.check("Redis up: /healthz", health.status == 200, f"{health.describe()} {health.text}")

    reads = [
        ("API video list", "/api/v1/videos/"),
        ("API search", "/api/v1/videos/?q=gallbladder"),
        ("API tags", "/api/v1/tags/"),
    ]
    pages = [
        ("home page", "/"),
        ("search page", "/library/search/?q=gallbladder"),
        ("my uploads page", "/videos/mine/"),
    ]

    redis.stop()
    report.step(f"redis-server on port {redis.port} stopped")
    for label, path in reads:
        answer = request(port, "GET", path, headers=auth, timeout=TIMEOUT)
        report.check(
            f"Redis down: {label} still 200",
            answer.status == 200,
            f"{answer.describe()}" + ("" if answer.status == 200 else f" {answer.text[:120]!r}"),
        )
    for label, path in pages:
        started = time.monotonic()
        status, text = browser.get(path)
        report.check(
            f"Redis down: {label} (signed in) still 200",
            status == 200,
            f"{status} in {time.monotonic() - started:.2f} s" + ("" if status == 200 else f" {_visible_text(text)!r}"),
        )
    api_login = _token(port, username, password)
    detail = (api_login.json() or {}).get("detail", "") if api_login.status else ""
    report.check(
        "Redis down: API sign-in refused with 429/503 and a message (fails closed)",
        api_login.status in (429, 503) and bool(detail) and not api_login.leaks(),
        f"{api_login.describe()} {api_login.text[:160]!r}",
    )
    status, text, took = Browser(port).login(username, password)
    report.check(
        "Redis down: web sign-in refused with 429/503 and a message (fails closed)",
        status in (429, 503) and not _leaks(text),
        f"{status} in {took:.2f} s: {_visible_text(text)!r}",
    )
    health = request(port, "GET", "/healthz")
    failed = (health.json() or {}).get("failed", [])
    report.check(
        "Redis down: /healthz 503 naming the cache",
        health.status == 503 and failed == ["cache"],
        f"{health.describe()} failed={failed}",
    )

    down_at = time.monotonic()
    redis.start()
    back = time.monotonic()
    report.step(f"redis-server started again after {back - down_at:.1f} s")

    def healthy():
        return request(port, "GET", "/healthz").status == 200

    harness.wait_for(healthy, timeout=30, interval=0.1, what="/healthz 200 after Redis returned")
    report.check("Redis back: /healthz 200", True, f"{time.monotonic() - back:.2f} s after Redis answered PING")
    api_login = _token(port, username, password)
    report.check("Redis back: API sign-in", api_login.status == 200, api_login.describe())
    status, _, _ = Browser(port).login(username, password)
    report.check("Redis back: web sign-in", status == 302, f"POST /accounts/login/ → {status}")
    answer = request(port, "GET", reads[1][1], headers=auth)
    report.check("Redis back: API search", answer.status == 200, answer.describe())

"""
The deploy kit (deploy/): gunicorn settings, the nginx site, the systemd units, and the
transcode queue they rely on. nginx and systemd-analyze check the files for real when they
are installed; the required directives are checked either way.
"""

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest
from django.conf import settings
from django_q.brokers import get_broker
from django_q.signing import SignedPackage

from accounts import roles
from tests.videos_helpers import upload
from videos.models import Video

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = {name: DEPLOY / "systemd" / f"{name}.service" for name in ("svl-web", "svl-worker", "svl-transcode")}


# ------------------------------------------------------------------------------ gunicorn


@pytest.fixture
def gunicorn_conf(monkeypatch):
    """deploy/gunicorn.conf.py as gunicorn reads it, with none of its variables overridden."""
    for name in ("HOST", "PORT", "WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_TIMEOUT",
                 "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_KEEPALIVE", "GUNICORN_MAX_REQUESTS",
                 "GUNICORN_WORKER_TMP_DIR", "FORWARDED_ALLOW_IPS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    return {
        key: value
        for key, value in namespace.items()
        if not key.startswith("_") and not isinstance(value, types.ModuleType) and not callable(value)
    }


def test_gunicorn_conf_sets_only_real_settings_with_valid_values(gunicorn_conf):
    from gunicorn.config import Config

    config = Config()
    unknown = set(gunicorn_conf) - set(config.settings)
    assert not unknown, f"not gunicorn settings: {unknown}"
    for name, value in gunicorn_conf.items():
        config.set(name, value)  # gunicorn's own validators
    assert config.settings["worker_class"].get() == "gthread"


def test_gunicorn_conf_suits_long_uploads_behind_nginx(gunicorn_conf):
    # Threads, so a tus chunk streamed by nginx (buffering off) holds a thread, not a worker,
    # and the worker timeout is a hang detector rather than a request deadline.
    assert gunicorn_conf["worker_class"] == "gthread"
    assert gunicorn_conf["threads"] >= 2
    assert 1 <= gunicorn_conf["workers"] <= 8
    assert gunicorn_conf["timeout"] >= 60
    assert gunicorn_conf["bind"] == "127.0.0.1:8000"
    assert gunicorn_conf["control_socket_disable"] is True
    # Longer than nginx's upstream keepalive_timeout (60 s), so nginx never reuses a
    # connection gunicorn has just closed.
    assert gunicorn_conf["keepalive"] > 60
    # systemd waits longer than gunicorn's own graceful stop before it kills.
    assert (
        unit_seconds(parse_unit(UNITS["svl-web"])["Service"]["TimeoutStopSec"][-1]) > gunicorn_conf["graceful_timeout"]
    )


def test_gunicorn_conf_reads_the_environment(monkeypatch):
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 (a config value under test)
    monkeypatch.setenv("PORT", "8123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("GUNICORN_THREADS", "6")
    namespace = runpy.run_path(str(DEPLOY / "gunicorn.conf.py"))
    assert (namespace["bind"], namespace["workers"], namespace["threads"]) == ("0.0.0.0:8123", 3, 6)


# ------------------------------------------------------------------------------ nginx


def nginx_tokens(text: str) -> list[str]:
    """Words, quoted strings, '{', '}' and ';' of an nginx configuration; comments dropped."""
    return re.findall(r'"[^"]*"|\'[^\']*\'|[{};]|[^\s{};"\']+', re.sub(r"#[^\n]*", "", text))


def nginx_blocks(tokens: list[str]) -> list:
    """Nested [name, args, children] for blocks and [name, args, None] for directives."""
    stack, current, words = [], [], []
    for token in tokens:
        if token == ";":
            current.append([words[0], words[1:], None])
            words = []
        elif token == "{":
            block = [words[0], words[1:], []]
            current.append(block)
            stack.append(current)
            current, words = block[2], []
        elif token == "}":
            assert not words, f"unterminated directive {words}"
            current = stack.pop()
        else:
            words.append(token)
    assert not stack and not words, "unbalanced braces or a missing ';'"
    return current


def directives(block: list, name: str) -> list[list[str]]:
    return [args for entry, args, children in block if entry == name and children is None]


def blocks(block: list, name: str, *args: str) -> list[list]:
    return [children for entry, entry_args, children in block if entry == name and children is not None
            and (not args or entry_args == list(args))]  # fmt: skip


def size_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]


@pytest.fixture(scope="module")
def nginx_site():
    return nginx_blocks(nginx_tokens((DEPLOY / "nginx.conf").read_text()))


def test_nginx_site_has_what_the_deployment_relies_on(nginx_site):
    [upstream] = blocks(nginx_site, "upstream", "svl_web")
    assert directives(upstream, "server") and directives(upstream, "keepalive")
    plain, tls = blocks(nginx_site, "server")
    assert ["80"] in directives(plain, "listen")
    assert blocks(plain, "location", "=", "/healthz"), "probes must reach /healthz over plain HTTP"
    assert any("ssl" in args for args in directives(tls, "listen"))
    assert directives(tls, "ssl_certificate") and directives(tls, "ssl_certificate_key")
    # Proxy headers Django relies on (client address, scheme for SECURE_PROXY_SSL_HEADER).
    headers = {args[0]: args[1] for args in directives(tls, "proxy_set_header")}
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["Host"] == "$host"
    # HLS playlists compressed.
    assert directives(tls, "gzip") == [["on"]]
    assert "application/vnd.apple.mpegurl" in directives(tls, "gzip_types")[0]
    # Ordinary requests stay small; the two upload doors take a whole recording.
    assert size_bytes(directives(tls, "client_max_body_size")[0][0]) < 100 * 1024**2
    [uploads] = blocks(tls, "location", "/api/v1/uploads/")
    assert directives(uploads, "proxy_request_buffering") == [["off"]]
    assert directives(uploads, "proxy_pass") == [["http://svl_web"]]
    [multipart] = blocks(tls, "location", "=", "/api/v1/videos/")
    for door in (uploads, multipart):
        assert size_bytes(directives(door, "client_max_body_size")[0][0]) >= settings.VIDEO_MAX_UPLOAD_BYTES
    # Media only through X-Accel-Redirect, at the prefix the production example configures.
    prefix = re.search(r"^MEDIA_ACCEL_REDIRECT_PREFIX=(\S+)$", (ROOT / ".env.production.example").read_text(), re.M)
    [media] = blocks(tls, "location", prefix.group(1))
    assert directives(media, "internal") == [[]]
    assert directives(media, "alias")
    # Cache-Control comes from Django; nginx adding its own would send two.
    assert not any(args[0].lower() == "cache-control" for args in directives(media, "add_header"))
    [static] = blocks(tls, "location", "/static/")
    assert directives(static, "alias")
    assert blocks(tls, "location", "=", "/healthz") and blocks(tls, "location", "/")


def _nginx_binary():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None)


def _nginx_prefix(tmp_path, site: str) -> list[str]:
    """
    ``site`` (the deploy kit's site, edited) inside a minimal main config under ``tmp_path``,
    with a certificate generated here; returns the nginx arguments that select it.
    """
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=videos.hospital.example",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = (
        site.replace("/etc/ssl/certs/videos.hospital.example.crt", str(cert))
        .replace("/etc/ssl/private/videos.hospital.example.key", str(key))
        .replace("/srv/videos/nginx-body", str(tmp_path / "body"))
    )
    (tmp_path / "site.conf").write_text(site)
    mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/main-error.log;\nevents {{}}\n"
        f"http {{ {mime} access_log {tmp_path}/default-access.log; include {tmp_path}/site.conf; }}\n"
    )
    return ["-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "main-error.log")]


def test_nginx_accepts_the_site(tmp_path):
    """`nginx -t` on the site inside a minimal main config (certificates generated here)."""
    text = (DEPLOY / "nginx.conf").read_text()
    nginx = _nginx_binary()
    if nginx is None:
        # No nginx on this machine: the parse above is the check; prove it can fail.
        unclosed = re.sub(r"(keepalive \d+;\s*)\}", r"\1", text, count=1)
        assert unclosed != text
        with pytest.raises(AssertionError, match="unbalanced"):
            nginx_blocks(nginx_tokens(unclosed))
        return
    arguments = _nginx_prefix(tmp_path, text.replace("/var/log/nginx/", f"{tmp_path}/"))
    checked = subprocess.run([nginx, "-t", "-q", *arguments], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    site = (tmp_path / "site.conf").read_text()
    (tmp_path / "site.conf").write_text(
        site.replace("proxy_request_buffering off;", "proxy_request_buffering sometimes;")
    )
    refused = subprocess.run([nginx, "-t", "-q", *arguments], capture_output=True, text=True)
    assert refused.returncode != 0


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nginx_logs_no_token_and_no_reset_link(tmp_path):
    """
    The real nginx, serving the site: signed media URLs (token in the query string) and a
    password-reset link (token in the path) leave no secret in the access or error log.
    """
    import http.client
    import ssl
    import urllib.error
    import urllib.request

    nginx = _nginx_binary()
    if nginx is None:
        pytest.skip("nginx is not installed (make test installs it; .ci/run always has it)")
    plain, tls, upstream = _free_port(), _free_port(), _free_port()  # nothing listens upstream: 502s
    site = (
        (DEPLOY / "nginx.conf")
        .read_text()
        .replace("/var/log/nginx/", f"{tmp_path}/")
        .replace("listen [::]:80;", "")
        .replace("listen [::]:443 ssl http2;", "")
        .replace("listen 80;", f"listen 127.0.0.1:{plain};")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls} ssl http2;")
        .replace("server 127.0.0.1:8000", f"server 127.0.0.1:{upstream}")
    )
    arguments = _nginx_prefix(tmp_path, site)
    started = subprocess.run([nginx, *arguments], capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    secrets = ["MEDIATOKEN1.1796.1797..SIGNATURE", "c4x-0123456789abcdef0123", "PLAINTOKEN"]
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    try:
        for url in [
            f"https://127.0.0.1:{tls}/api/v1/videos/0b5d7b1e-2f7a-4a65-9d38-6a0b0f1f3c11/hls/720p/seg_00001.ts"
            f"?token={secrets[0]}",
            f"https://127.0.0.1:{tls}/accounts/password/reset/MQ/{secrets[1]}/",
        ]:
            request = urllib.request.Request(url, headers={"Host": "videos.hospital.example", "Referer": url})
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, context=context, timeout=10)  # noqa: S310 (our own test server)
            assert refused.value.code == 502  # gunicorn is not there; nginx still logs the request
        # Plain HTTP answers with a redirect to HTTPS, logged by the other server block.
        connection = http.client.HTTPConnection("127.0.0.1", plain, timeout=10)
        connection.request("GET", f"/api/v1/videos/x/media/poster.jpg?token={secrets[2]}")
        assert connection.getresponse().status == 301
        connection.close()
    finally:
        subprocess.run([nginx, *arguments, "-s", "stop"], check=False)
    access = (tmp_path / "svl.access.log").read_text()
    assert "/api/v1/videos/0b5d7b1e-2f7a-4a65-9d38-6a0b0f1f3c11/hls/720p/seg_00001.ts" in access
    assert "/accounts/password/reset/MQ/[redacted]/" in access
    assert '"GET /api/v1/videos/x/media/poster.jpg HTTP/1.1" 301' in access
    assert access.count(" 502 ") == 2
    logged = "".join(path.read_text() for path in tmp_path.glob("*.log"))
    for secret in secrets:
        assert secret not in logged, secret


# ------------------------------------------------------------------------------ systemd


def parse_unit(path: Path) -> dict[str, dict[str, list[str]]]:
    """Sections -> key -> every value given (systemd allows repeated keys such as Environment=)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        assert current is not None and "=" in line, f"{path.name}: stray line {line!r}"
        key, value = line.split("=", 1)
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def unit_seconds(value: str) -> float:
    if value == "infinity":
        return float("inf")
    total = 0.0
    for number, unit in re.findall(r"(\d+)\s*(min|s|h|ms)?", value):
        total += int(number) * {"": 1, "s": 1, "min": 60, "h": 3600, "ms": 0.001}[unit]
    return total


@pytest.mark.parametrize("name", UNITS)
def test_systemd_units_have_the_required_keys(name):
    unit = parse_unit(UNITS[name])
    service = unit["Service"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in unit["Unit"]["After"][0]
    for key in ("User", "Group", "WorkingDirectory", "EnvironmentFile", "ExecStart", "Restart"):
        assert service.get(key), f"{name}: {key}= missing"
    # SIGTERM to the main process only: gunicorn's master and django-q2's Cluster stop their
    # children gracefully; the default KillMode=control-group would kill every worker at once.
    assert service["KillMode"] == ["mixed"]
    assert service["KillSignal"] == ["SIGTERM"]
    assert unit_seconds(service["TimeoutStopSec"][-1]) >= 60
    assert service["Restart"] == ["on-failure"]
    environment = " ".join(service.get("Environment", []))
    command = service["ExecStart"][0]
    if name == "svl-web":
        assert service["Type"] == ["notify"]
        assert "gunicorn -c deploy/gunicorn.conf.py config.wsgi:application" in command
    else:
        assert command.endswith("manage.py qcluster")
    if name == "svl-transcode":
        assert f"Q_CLUSTER_NAME={settings.Q_TRANSCODE_CLUSTER}" in environment.split()
        # A stop puts the chunk in flight back in the queue (tests/platform/test_stopping.py):
        # it waits for a planning task at most, never for an encode.
        assert unit_seconds(service["TimeoutStopSec"][-1]) <= 5 * 60
    else:
        assert "Q_CLUSTER_NAME" not in environment


def test_systemd_units_verify(tmp_path):
    """`systemd-analyze verify` on the units, pointed at this checkout's virtualenv."""
    analyze = shutil.which("systemd-analyze")
    copies = []
    for name, path in UNITS.items():
        text = path.read_text().replace("/srv/videos/app/.venv", sys.prefix).replace("/srv/videos/app", str(ROOT))
        (tmp_path / path.name).write_text(text)
        copies.append(tmp_path / path.name)
    if analyze is None:
        # No systemd tools here: every line must at least be a section, comment or key=value.
        for copy in copies:
            parse_unit(copy)
        return
    checked = subprocess.run([analyze, "verify", "--man=no", *map(str, copies)], capture_output=True, text=True)
    complaints = [line for line in (checked.stdout + checked.stderr).splitlines() if "svl-" in line]
    assert checked.returncode == 0 and not complaints, checked.stdout + checked.stderr
    # And it does catch a mistake.
    (tmp_path / "svl-web.service").write_text(copies[0].read_text().replace("KillMode=mixed", "KillMode=gently"))
    wrong = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / "svl-web.service")], capture_output=True, text=True
    )
    assert "svl-web.service:" in wrong.stderr and "gently" in wrong.stderr


# ------------------------------------------------------------------------------ the transcode queue


def cluster_conf(tmp_path, **env) -> dict:
    """django_q.conf.Conf as a qcluster started with ``env`` sees it (a fresh process)."""
    script = (
        "import json, django; django.setup()\n"
        "from django_q.conf import Conf\n"
        "from django_q.brokers import get_broker\n"
        "print(json.dumps({'cluster': Conf.CLUSTER_NAME, 'prefix': Conf.PREFIX, 'workers': Conf.WORKERS,"
        " 'queue_limit': Conf.QUEUE_LIMIT, 'timeout': Conf.TIMEOUT, 'retry': Conf.RETRY,"
        " 'scheduler': Conf.SCHEDULER, 'max_attempts': Conf.MAX_ATTEMPTS, 'queue': get_broker().list_key}))\n"
    )
    base = {key: value for key, value in os.environ.items() if not key.startswith(("Q_", "PYTEST", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", script],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "config.settings", "DJANGO_ENV": "development",
             "SECRET_KEY": "x" * 50, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "misconfigured" not in done.stderr, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_transcode_cluster_is_its_own_queue_with_one_encode_at_a_time(tmp_path):
    default = cluster_conf(tmp_path)
    transcode = cluster_conf(tmp_path, Q_CLUSTER_NAME=settings.Q_TRANSCODE_CLUSTER)
    assert default["cluster"] == default["queue"] == default["prefix"] == "svl"
    assert default["scheduler"] is True  # the schedules (reaper, purges) run here
    assert transcode["cluster"] == transcode["queue"] == "transcode"
    assert transcode["prefix"] == "svl"  # same signing salt and status key: one site
    assert (transcode["workers"], transcode["queue_limit"], transcode["scheduler"]) == (1, 1, False)
    assert transcode["timeout"] == settings.Q_CLUSTER["timeout"]
    assert transcode["retry"] > transcode["timeout"]
    assert transcode["max_attempts"] == 1
    more = cluster_conf(tmp_path, Q_CLUSTER_NAME=settings.Q_TRANSCODE_CLUSTER, Q_TRANSCODE_WORKERS="3")
    assert (more["workers"], more["queue_limit"]) == (3, 1)


@pytest.mark.slow
@pytest.mark.django_db
def test_an_upload_queues_its_transcode_on_the_transcode_queue(
    api, uploader, media, monkeypatch, django_capture_on_commit_callbacks
):
    # Tests run jobs inline (Q_CLUSTER sync); here the real broker takes them, as in production.
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)
    transcodes, short_jobs = get_broker(settings.Q_TRANSCODE_CLUSTER), get_broker()
    transcodes.purge_queue()
    short_jobs.purge_queue()
    api.force_authenticate(uploader)
    response = upload(api, media.mp4(), capture=django_capture_on_commit_callbacks)
    assert response.status_code == 201, response.content
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.status == Video.Status.PENDING  # queued, not run
    assert short_jobs.queue_size() == 0
    assert transcodes.queue_size() == 1
    [(_, payload)] = transcodes.dequeue()
    task = SignedPackage.loads(payload)
    assert task["func"] == "videos.tasks.transcode"
    assert task["args"] == (video.pk, str(video.job_token))
    assert task["cluster"] == "transcode"
    assert task["name"] == f"transcode-{video.uuid}"
    transcodes.purge_queue()


@pytest.mark.slow
@pytest.mark.django_db
def test_reprocess_uses_the_transcode_queue_too(
    api, make_user, media, monkeypatch, django_capture_on_commit_callbacks, editor
):
    from django_q.conf import Conf

    from videos import services

    uploader = make_user(roles.VIEWER, roles.UPLOADER, username="re-uploader")
    api.force_authenticate(uploader)
    response = upload(api, media.mp4(), capture=django_capture_on_commit_callbacks)  # transcoded inline
    video = Video.objects.get(uuid=response.json()["id"])
    assert video.status == Video.Status.PROCESSED, video.failure_reason
    monkeypatch.setattr(Conf, "SYNC", False)
    transcodes = get_broker(settings.Q_TRANSCODE_CLUSTER)
    transcodes.purge_queue()
    with django_capture_on_commit_callbacks(execute=True):
        services.video_reprocess(user=editor, video=video)
    assert get_broker().queue_size() == 0
    [(_, payload)] = transcodes.dequeue()
    video.refresh_from_db()
    assert SignedPackage.loads(payload)["args"] == (video.pk, str(video.job_token))
    transcodes.purge_queue()

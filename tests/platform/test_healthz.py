"""/healthz: database, cache, job-queue worker and FFmpeg; 200 or 503 naming what failed."""

import pytest
from django.test import override_settings
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage
from django_q.status import Stat, Status

pytestmark = pytest.mark.django_db


def _cluster_heartbeat(status, cluster_id="c0ffee"):
    """What a running cluster's sentinel writes to its broker every half second (Stat.save)."""
    stat = Status(pid=4242, cluster_id=cluster_id)
    stat.status = status
    broker = get_broker()
    broker.set_stat(Stat.get_key(cluster_id), SignedPackage.dumps(stat, True), 3)


def test_healthy_node_answers_200_without_signing_in(client):
    _cluster_heartbeat(Conf.IDLE)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "worker": "ok", "ffmpeg": "ok"},
        "worker_required": True,
        "failed": [],
    }
    assert "no-cache" in response["Cache-Control"]


def test_no_running_worker_is_503_when_the_worker_is_required(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failed"] == ["worker"]
    assert body["checks"]["worker"] == "fail"
    assert body["checks"]["database"] == "ok"


def test_a_stopped_cluster_does_not_count_as_a_worker(client):
    _cluster_heartbeat(Conf.STOPPED)
    assert client.get("/healthz").status_code == 503
    _cluster_heartbeat(Conf.WORKING, cluster_id="second")
    assert client.get("/healthz").status_code == 200


def test_web_only_node_ignores_the_worker_but_reports_it(client, settings):
    settings.HEALTHZ_REQUIRE_WORKER = False
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["worker_required"] is False
    assert body["checks"]["worker"] == "fail"
    assert body["failed"] == []


def test_missing_ffmpeg_is_503(client, settings):
    _cluster_heartbeat(Conf.IDLE)
    settings.FFMPEG_BIN = "/nonexistent/ffmpeg"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["ffmpeg"]


def test_unreachable_cache_is_503(client, settings):
    settings.HEALTHZ_REQUIRE_WORKER = False
    # Nothing listens on port 1: every cache call fails, as when Redis is down. (A context
    # manager, so the working cache is back before the fixtures clear it.)
    unreachable = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    with override_settings(CACHES=unreachable):
        response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert body["checks"]["database"] == "ok"


def test_body_holds_no_versions_hosts_or_errors(client, settings):
    settings.FFMPEG_BIN = "/nonexistent/ffmpeg"
    text = client.get("/healthz").content.decode()
    for leak in ["version", "nonexistent", "sqlite", "postgres", "redis", "Traceback", "django"]:
        assert leak not in text.lower(), leak


def test_head_works_and_writes_are_refused(client):
    _cluster_heartbeat(Conf.IDLE)
    assert client.head("/healthz").status_code == 200
    assert client.post("/healthz").status_code == 405

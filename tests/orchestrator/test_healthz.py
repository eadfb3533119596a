"""GET /healthz: what a load balancer or `dagyard up` sees."""

from __future__ import annotations

import pytest

from orchestrator.environment import BrokerTarget


@pytest.mark.django_db
def test_healthz_answers_200_when_database_and_redis_answer(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["down"] == []
    assert body["checks"]["database"] == {"ok": True, "detail": "answers"}
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["redis"]["detail"].startswith("answers (Redis ")


@pytest.mark.django_db
def test_healthz_answers_503_naming_redis_when_redis_is_down(client, settings):
    down = "redis://:topsecret@127.0.0.1:1/0"
    settings.REDIS_URL = down
    settings.BROKER = BrokerTarget(down, "REDIS_URL")
    answer = client.get("/healthz")
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert body["down"] == ["redis"]
    assert body["checks"]["database"]["ok"] is True
    assert "127.0.0.1:1" in body["checks"]["redis"]["detail"]
    assert "topsecret" not in answer.content.decode()


@pytest.mark.django_db
def test_healthz_says_the_embedded_redis_is_not_running_when_nothing_started_it(client, settings):
    settings.BROKER = BrokerTarget("redis://127.0.0.1:1/0", "embedded (not running)")
    settings.REDIS_URL = settings.BROKER.url
    body = client.get("/healthz").json()
    assert body["down"] == ["redis"]
    assert "start it with `dagyard up`" in body["checks"]["redis"]["detail"]


@pytest.mark.django_db
def test_healthz_refuses_other_methods(client):
    assert client.post("/healthz").status_code == 405

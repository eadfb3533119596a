"""A task sent through the real broker reaches a real worker that shares the test's database."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from orchestrator.doctor import examine
from orchestrator.environment import BrokerTarget
from orchestrator.tasks import probe

pytestmark = pytest.mark.django_db(transaction=True)


def test_probe_goes_through_the_broker_and_a_worker_and_comes_back(celery_worker):
    answer = probe.delay("round-trip").get(timeout=30)
    assert answer["token"] == "round-trip"
    assert answer["database_ok"] is True


def test_worker_reads_the_same_database_as_the_test(celery_worker, test_database_url):
    from orchestrator.health import describe_database

    Group.objects.create(name="seen-by-worker")
    answer = probe.delay("db").get(timeout=30)
    assert answer["database"] == describe_database()


def test_doctor_sees_the_worker_its_queues_and_a_round_trip(celery_worker, settings):
    report = examine()
    assert report.ok, report.as_dict()
    assert celery_worker.hostname in report.workers
    assert report.workers[celery_worker.hostname] == sorted(settings.TASK_QUEUES)
    assert report.probe.startswith("answered by ")
    assert report.unapplied_migrations == 0


def test_doctor_reports_a_broker_that_does_not_answer_and_fails(settings):
    settings.BROKER = BrokerTarget("redis://:pw@127.0.0.1:1/0", "REDIS_URL")
    settings.REDIS_URL = settings.BROKER.url
    report = examine()
    assert not report.ok
    assert report.database.ok
    assert not report.redis.ok
    assert report.redis.target == "redis://:***@127.0.0.1:1/0"
    assert report.workers == {}
    assert report.as_dict()["broker"]["source"] == "REDIS_URL"

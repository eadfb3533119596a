"""Pools over the JSON API: read when logged in, changed by staff, validated like the file."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from autoscaler.models import Pool, PoolEvaluation
from autoscaler.services.pools import import_pools

pytestmark = pytest.mark.django_db

ENTRY = {
    "name": "web",
    "instance_pool_id": "ocid1.instancepool.oc1..web",
    "region": "us-ashburn-1",
    "monitoring_method": "oci",
    "cpu_threshold": 80,
    "ram_threshold": 80,
    "scaling_limits": {"min": 1, "max": 4},
}


def user_client(django_user_model: Any, name: str, *, staff: bool) -> Client:
    user = django_user_model.objects.create_user(name, password="pw-for-tests", is_staff=staff)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(django_user_model: Any) -> Client:
    return user_client(django_user_model, "ops", staff=True)


@pytest.fixture
def member(django_user_model: Any) -> Client:
    return user_client(django_user_model, "viewer", staff=False)


def send(client: Client, method: str, path: str, body: Any) -> Any:
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


def test_staff_create_a_pool_from_a_config_entry(staff: Client) -> None:
    answer = send(staff, "post", "/api/pools", ENTRY)

    pool = Pool.objects.get()
    assert answer.status_code == 201
    assert answer.json() == {"id": pool.pk, **ENTRY}


def test_a_pool_is_read_with_its_latest_evaluation(member: Client) -> None:
    import_pools(json.dumps({"pools": [ENTRY]}))
    pool = Pool.objects.get()
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    PoolEvaluation.objects.create(pool=pool, at=at, outcome="no_action", reason="calm",
                                  cpu=40.0, ram=30.0, size_before=2, size_after=2)  # fmt: skip

    listing = member.get("/api/pools")
    item = member.get(f"/api/pools/{pool.pk}")

    assert listing.json() == {"pools": [{"id": pool.pk, **ENTRY}]}
    assert item.json() == {
        "id": pool.pk,
        **ENTRY,
        "latest_evaluation": {
            "at": "2026-03-02T09:00:00+00:00",
            "source": "metrics",
            "outcome": "no_action",
            "reason": "calm",
            "size_before": 2,
            "size_after": 2,
            "cpu": 40.0,
            "ram": 30.0,
        },
    }


def test_staff_change_a_pool_and_it_is_due_at_once(staff: Client) -> None:
    import_pools(json.dumps({"pools": [ENTRY]}))
    pool = Pool.objects.get()
    Pool.objects.update(next_evaluation_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    changed = dict(ENTRY, cpu_threshold=70, sustained_breaches=3)

    answer = send(staff, "put", f"/api/pools/{pool.pk}", changed)

    pool.refresh_from_db()
    assert answer.status_code == 200
    assert answer.json() == {"id": pool.pk, **changed}
    assert (pool.cpu_threshold, pool.sustained_breaches, pool.next_evaluation_at) == (70, 3, None)


def test_an_unknown_monitoring_method_is_refused_with_the_files_words(staff: Client) -> None:
    answer = send(staff, "post", "/api/pools", dict(ENTRY, monitoring_method="datadog"))

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "pool web: unknown monitoring_method 'datadog' (known: oci, prometheus, local)"
    }
    assert Pool.objects.count() == 0


def test_a_name_another_pool_has_is_refused_and_changes_nothing(staff: Client) -> None:
    import_pools(json.dumps({"pools": [ENTRY, dict(ENTRY, name="api")]}))
    api = Pool.objects.get(name="api")
    before = list(Pool.objects.values())

    answer = send(staff, "put", f"/api/pools/{api.pk}", ENTRY)

    assert (answer.status_code, answer.json()) == (
        400, {"error": "another pool is already named 'web'"},
    )  # fmt: skip
    assert list(Pool.objects.values()) == before


def test_reading_needs_a_login_and_changing_needs_staff(client: Client, member: Client) -> None:
    import_pools(json.dumps({"pools": [ENTRY]}))
    pool = Pool.objects.get()

    anonymous = client.get("/api/pools")
    not_staff = send(member, "put", f"/api/pools/{pool.pk}", dict(ENTRY, cpu_threshold=10))
    missing = member.get("/api/pools/9999")

    assert (anonymous.status_code, anonymous.json()) == (401, {"error": "log in to see pools"})
    assert (not_staff.status_code, not_staff.json()) == (
        403, {"error": "only staff may change pools"},
    )  # fmt: skip
    assert (missing.status_code, missing.json()) == (404, {"error": "no pool has the id 9999"})
    assert Pool.objects.get().cpu_threshold == 80

"""Pools over the REST API: viewers read, admins change them, entries are validated like the file,
and every refusal has the one error shape and changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from autoscaler.models import Pool, PoolEvaluation
from autoscaler.services.pools import import_pools
from tests.conftest import user_in

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
NOT_LOGGED_IN = "Authentication credentials were not provided."
ROLE_REFUSED = "Your role does not allow this."


def error(status: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def web_pool() -> Pool:
    import_pools(json.dumps({"pools": [ENTRY]}))
    return Pool.objects.get()


def stored() -> list[dict[str, Any]]:
    return list(Pool.objects.order_by("pk").values())


def test_an_admin_creates_a_pool_from_a_config_entry(client_as) -> None:
    answer = client_as("admin").post("/api/pools", ENTRY, format="json")

    pool = Pool.objects.get()
    assert answer.status_code == 201
    assert answer.json() == {"id": pool.pk, **ENTRY}


def test_a_pool_is_read_with_its_latest_evaluation(client_as) -> None:
    pool = web_pool()
    at = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    PoolEvaluation.objects.create(pool=pool, at=at, outcome="no_action", reason="calm",
                                  cpu=40.0, ram=30.0, size_before=2, size_after=2)  # fmt: skip
    viewer = client_as("viewer")

    listing = viewer.get("/api/pools")
    item = viewer.get(f"/api/pools/{pool.pk}")

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


def test_a_pool_never_evaluated_says_so(client_as) -> None:
    pool = web_pool()

    answer = client_as("viewer").get(f"/api/pools/{pool.pk}")

    assert answer.json() == {"id": pool.pk, **ENTRY, "latest_evaluation": None}


def test_an_admin_changes_a_pool_and_it_is_due_at_once(client_as) -> None:
    pool = web_pool()
    Pool.objects.update(next_evaluation_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    changed = dict(ENTRY, cpu_threshold=70, sustained_breaches=3)

    answer = client_as("admin").put(f"/api/pools/{pool.pk}", changed, format="json")

    pool.refresh_from_db()
    assert answer.status_code == 200
    assert answer.json() == {"id": pool.pk, **changed}
    assert (pool.cpu_threshold, pool.sustained_breaches, pool.next_evaluation_at) == (70, 3, None)


def test_an_unknown_monitoring_method_is_a_400_naming_the_field(client_as) -> None:
    answer = client_as("admin").post(
        "/api/pools", dict(ENTRY, monitoring_method="datadog"), format="json"
    )

    refusal = "pool web: unknown monitoring_method 'datadog' (known: oci, prometheus, local)"
    assert answer.status_code == 400
    assert answer.json() == error(
        400, "invalid", f"monitoring_method: {refusal}", {"monitoring_method": [refusal]}
    )
    assert Pool.objects.count() == 0


def test_a_refusal_inside_scaling_limits_is_filed_under_scaling_limits(client_as) -> None:
    pool = web_pool()
    before = stored()

    answer = client_as("admin").put(
        f"/api/pools/{pool.pk}", dict(ENTRY, scaling_limits={"min": 5, "max": 2}), format="json"
    )

    refusal = "pool web: scaling_limits.min (5) is above scaling_limits.max (2)"
    assert (answer.status_code, answer.json()) == (
        400, error(400, "invalid", f"scaling_limits: {refusal}", {"scaling_limits": [refusal]}),
    )  # fmt: skip
    assert stored() == before


def test_a_name_another_pool_has_is_a_400_naming_name_and_changes_nothing(client_as) -> None:
    import_pools(json.dumps({"pools": [ENTRY, dict(ENTRY, name="api")]}))
    api = Pool.objects.get(name="api")
    before = stored()

    answer = client_as("admin").put(f"/api/pools/{api.pk}", ENTRY, format="json")

    refusal = "another pool is already named 'web'"
    assert (answer.status_code, answer.json()) == (
        400, error(400, "invalid", f"name: {refusal}", {"name": [refusal]}),
    )  # fmt: skip
    assert stored() == before


def test_a_body_that_is_not_an_entry_is_refused(client_as) -> None:
    admin = client_as("admin")

    listed = admin.post("/api/pools", [ENTRY], format="json")
    broken = admin.generic("POST", "/api/pools", "{not json", content_type="application/json")

    assert (listed.status_code, listed.json()) == (
        400, error(400, "invalid", "the request body must be a JSON object"),
    )  # fmt: skip
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "parse_error"
    assert Pool.objects.count() == 0


def test_an_unknown_pool_is_a_404_in_the_same_shape(client_as) -> None:
    admin = client_as("admin")

    shown = admin.get("/api/pools/9999")
    replaced = admin.put("/api/pools/9999", ENTRY, format="json")

    assert (shown.status_code, shown.json()) == (
        404, error(404, "not_found", "no pool has the id 9999"),
    )  # fmt: skip
    assert (replaced.status_code, replaced.json()) == (shown.status_code, shown.json())
    assert Pool.objects.count() == 0


def test_reading_needs_credentials_and_changing_needs_the_admin_role(client_as) -> None:
    pool = web_pool()
    before = stored()
    lower = dict(ENTRY, cpu_threshold=10)

    anonymous = client_as("anonymous").get("/api/pools")
    viewer = client_as("viewer").put(f"/api/pools/{pool.pk}", lower, format="json")
    operator = client_as("operator").post("/api/pools", dict(ENTRY, name="api"), format="json")

    assert (anonymous.status_code, anonymous.json()) == (
        401, error(401, "not_authenticated", NOT_LOGGED_IN),
    )  # fmt: skip
    for refused in (viewer, operator):
        assert (refused.status_code, refused.json()) == (
            403, error(403, "permission_denied", ROLE_REFUSED),
        )  # fmt: skip
    assert stored() == before


def test_staff_without_the_admin_role_may_not_change_pools(client_as) -> None:
    """Changing a pool was once open to any staff session; now it is the admin role's, as for
    a DAG's definition."""
    pool = web_pool()
    staff = User.objects.create_user("staff-only", is_staff=True)
    client = APIClient()
    client.force_authenticate(staff)

    answer = client.put(f"/api/pools/{pool.pk}", dict(ENTRY, cpu_threshold=10), format="json")

    assert answer.status_code == 403
    assert Pool.objects.get().cpu_threshold == 80


def test_the_browser_session_works_but_writes_need_csrf() -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user_in("admin"))

    assert client.get("/api/pools").status_code == 200
    refused = client.post("/api/pools", ENTRY, format="json")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert Pool.objects.count() == 0

"""Registration, heartbeats and central config over HTTP, with whole JSON bodies; refusals have
the REST API's one error shape."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.test import Client

from autoscaler.models import AgentNode, EnrollmentToken
from autoscaler.services.nodes import config_document_hash, create_enrollment_token

pytestmark = pytest.mark.django_db


def error(status: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def invalid(field: str, message: str) -> dict:
    return error(400, "invalid", f"{field}: {message}", {field: [message]})


NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)

POOLS_YAML = (
    "pools:\n"
    "  - instance_pool_id: ocid1.instancepool.oc1..web\n"
    "    region: us-ashburn-1\n"
    "    monitoring_method: oci\n"
    "    cpu_threshold: 80\n"
    "    ram_threshold: 80\n"
    "    scaling_limits: {min: 2, max: 10}\n"
)
POOLS_DOCUMENT = {
    "pools": [
        {
            "instance_pool_id": "ocid1.instancepool.oc1..web",
            "region": "us-ashburn-1",
            "monitoring_method": "oci",
            "cpu_threshold": 80,
            "ram_threshold": 80,
            "scaling_limits": {"min": 2, "max": 10},
        }
    ]
}


def post(client: Client, path: str, body: Any, **headers: str) -> Any:
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)


def put(client: Client, path: str, body: Any) -> Any:
    return client.put(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def token() -> str:
    _, clear = create_enrollment_token(now=dt.datetime.now(dt.UTC), note="test")
    return clear


@pytest.fixture
def registered(client: Client, token: str) -> tuple[int, str]:
    answer = post(client, "/api/nodes/register", {"enrollment_token": token, "name": "agent-1"})
    body = answer.json()
    return body["node_id"], body["api_key"]


@pytest.fixture
def staff_client(django_user_model: Any) -> Client:
    user = django_user_model.objects.create_user("ops", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    client = Client()
    client.force_login(user)
    return client


def test_an_agent_registers_with_an_enrollment_token_and_gets_its_key_once(
    client: Client, token: str
) -> None:
    answer = post(client, "/api/nodes/register", {"enrollment_token": token, "name": "agent-1"})

    assert answer.status_code == 201
    body = answer.json()
    node = AgentNode.objects.get()
    assert body == {"node_id": node.pk, "name": "agent-1", "api_key": body["api_key"]}
    assert body["api_key"].startswith("dyk_")
    assert len(body["api_key"]) > 40
    assert node.api_key_hash == hashlib.sha256(body["api_key"].encode()).hexdigest()
    assert body["api_key"] not in json.dumps(list(AgentNode.objects.values()), default=str)
    assert EnrollmentToken.objects.get().token_hash == hashlib.sha256(token.encode()).hexdigest()


def test_registration_without_a_valid_token_is_refused_and_creates_nothing(
    client: Client, token: str
) -> None:
    for body in ({"enrollment_token": "dye_guess", "name": "x"}, {"name": "x"}):
        answer = post(client, "/api/nodes/register", body)

        assert answer.status_code == 401
        assert answer.json() == error(
            401, "not_authenticated", "the enrollment token is unknown, used up or expired"
        )
    assert AgentNode.objects.count() == 0
    assert EnrollmentToken.objects.get().uses == 0


def test_a_single_use_token_registers_one_node_only(client: Client, token: str) -> None:
    first = post(client, "/api/nodes/register", {"enrollment_token": token, "name": "a"})
    second = post(client, "/api/nodes/register", {"enrollment_token": token, "name": "b"})

    assert (first.status_code, second.status_code) == (201, 401)
    assert AgentNode.objects.count() == 1


def test_an_expired_token_is_refused(client: Client, token: str) -> None:
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=25)):
        answer = post(client, "/api/nodes/register", {"enrollment_token": token, "name": "a"})

    assert answer.status_code == 401
    assert AgentNode.objects.count() == 0


def test_registration_needs_a_name(client: Client, token: str) -> None:
    answer = post(client, "/api/nodes/register", {"enrollment_token": token, "name": " "})

    assert answer.status_code == 400
    assert answer.json() == invalid(
        "name", "name must be a non-empty string of at most 200 characters, got ' '"
    )
    assert EnrollmentToken.objects.get().uses == 0


@time_machine.travel(NOW, tick=False)
def test_a_heartbeat_is_recorded_and_answers_whether_config_changed(
    client: Client, registered: tuple[int, str]
) -> None:
    node_id, key = registered
    analytics = {"web": {"size": 3, "cpu": 41.5, "ram": 60.0, "outcome": "no_action"}}

    answer = post(
        client,
        "/api/heartbeat",
        {"node_id": node_id, "status": "healthy", "config_hash": "", "pool_analytics": analytics},
        X_API_KEY=key,
    )

    assert answer.status_code == 200
    assert answer.json() == {"node_id": node_id, "config_update_needed": False, "config_hash": ""}
    node = AgentNode.objects.get()
    assert (node.status, node.last_heartbeat_at, node.last_analytics) == (
        "healthy", NOW, analytics,
    )  # fmt: skip


def test_heartbeats_without_a_valid_key_are_refused(
    client: Client, registered: tuple[int, str]
) -> None:
    node_id, _ = registered
    body = {"node_id": node_id, "status": "healthy", "config_hash": ""}

    missing = post(client, "/api/heartbeat", body)
    wrong = post(client, "/api/heartbeat", body, X_API_KEY="dyk_wrong")

    assert (missing.status_code, missing.json()) == (
        401, error(401, "not_authenticated", "send the node's API key in the X-API-Key header"),
    )  # fmt: skip
    assert (wrong.status_code, wrong.json()) == (
        401, error(401, "not_authenticated", "the API key is not valid"),
    )  # fmt: skip
    assert AgentNode.objects.get().last_heartbeat_at is None


def test_a_key_cannot_heartbeat_for_another_node(
    client: Client, registered: tuple[int, str]
) -> None:
    node_id, key = registered

    answer = post(client, "/api/heartbeat", {"node_id": node_id + 7, "status": "healthy"},
                  X_API_KEY=key)  # fmt: skip

    assert answer.status_code == 403
    assert answer.json() == error(
        403, "permission_denied", f"this API key belongs to node {node_id}, not node {node_id + 7}"
    )


def test_a_heartbeat_with_an_unknown_status_is_refused(
    client: Client, registered: tuple[int, str]
) -> None:
    _, key = registered

    answer = post(client, "/api/heartbeat", {"status": "sleepy"}, X_API_KEY=key)

    assert answer.status_code == 400
    assert answer.json() == invalid(
        "status", "status must be one of healthy, degraded, error, got 'sleepy'"
    )


def test_staff_set_a_config_and_the_next_heartbeat_asks_for_it(
    client: Client, staff_client: Client, registered: tuple[int, str]
) -> None:
    node_id, key = registered
    expected_hash = config_document_hash(POOLS_DOCUMENT)

    changed = put(staff_client, f"/api/nodes/{node_id}/config", {"yaml_config": POOLS_YAML})
    beat = post(client, "/api/heartbeat", {"status": "healthy", "config_hash": ""}, X_API_KEY=key)
    fetched = client.get(f"/api/nodes/{node_id}/config", headers={"X-API-Key": key})
    in_sync = post(client, "/api/heartbeat", {"status": "healthy", "config_hash": expected_hash},
                   X_API_KEY=key)  # fmt: skip

    assert (changed.status_code, changed.json()) == (
        200, {"node_id": node_id, "config_hash": expected_hash, "pools": 1},
    )  # fmt: skip
    assert beat.json() == {
        "node_id": node_id, "config_update_needed": True, "config_hash": expected_hash,
    }  # fmt: skip
    assert (fetched.status_code, fetched.json()) == (
        200, {"node_id": node_id, "config": POOLS_DOCUMENT, "config_hash": expected_hash},
    )  # fmt: skip
    assert in_sync.json()["config_update_needed"] is False
    assert AgentNode.objects.get().config_in_sync


def test_json_and_yaml_spellings_of_one_config_have_one_hash(
    staff_client: Client, registered: tuple[int, str]
) -> None:
    node_id, _ = registered

    as_yaml = put(staff_client, f"/api/nodes/{node_id}/config", {"yaml_config": POOLS_YAML})
    as_json = put(staff_client, f"/api/nodes/{node_id}/config", {"config": POOLS_DOCUMENT})

    assert as_yaml.json()["config_hash"] == as_json.json()["config_hash"]


def test_a_bad_config_is_refused_with_the_loaders_words_and_changes_nothing(
    staff_client: Client, registered: tuple[int, str]
) -> None:
    node_id, _ = registered
    put(staff_client, f"/api/nodes/{node_id}/config", {"config": POOLS_DOCUMENT})
    before = AgentNode.objects.values("config", "config_hash", "config_updated_at").get()

    answer = put(
        staff_client,
        f"/api/nodes/{node_id}/config",
        {"yaml_config": POOLS_YAML.replace("monitoring_method: oci", "monitoring_method: x")},
    )

    assert answer.status_code == 400
    assert answer.json() == invalid(
        "yaml_config",
        "pool ocid1.instancepool.oc1..web: unknown monitoring_method 'x' "
        "(known: oci, prometheus, local)",
    )
    assert AgentNode.objects.values("config", "config_hash", "config_updated_at").get() == before


def test_only_admins_may_change_a_config(
    client: Client, django_user_model: Any, registered: tuple[int, str]
) -> None:
    node_id, key = registered
    path = f"/api/nodes/{node_id}/config"

    def signed_in(role: str | None) -> Client:
        user = django_user_model.objects.create_user(role or "nobody", password="pw-for-tests")
        if role:
            user.groups.add(Group.objects.get_or_create(name=role)[0])
        member = Client()
        member.force_login(user)
        return member

    anonymous = put(client, path, {"config": POOLS_DOCUMENT})
    agent = client.put(path, json.dumps({"config": POOLS_DOCUMENT}),
                       content_type="application/json", headers={"X-API-Key": key})  # fmt: skip
    refused = {role: put(signed_in(role), path, {"config": POOLS_DOCUMENT})
               for role in (None, "viewer", "operator")}  # fmt: skip

    assert (anonymous.status_code, anonymous.json()) == (
        401, error(401, "not_authenticated", "log in as an admin to change a node's configuration"),
    )  # fmt: skip
    assert agent.status_code == 401
    for answer in refused.values():
        assert (answer.status_code, answer.json()) == (
            403, error(403, "permission_denied", "only admins may change a node's configuration"),
        )  # fmt: skip
    assert AgentNode.objects.get().config_hash == ""

    # A member of the admin group, neither staff nor superuser, may.
    changed = put(signed_in("admin"), path, {"config": POOLS_DOCUMENT})
    assert changed.status_code == 200
    assert AgentNode.objects.get().config_hash == changed.json()["config_hash"] != ""


def test_a_node_reads_only_its_own_config(
    client: Client, registered: tuple[int, str], staff_client: Client
) -> None:
    node_id, key = registered
    _, other_token = create_enrollment_token(now=dt.datetime.now(dt.UTC))
    other = post(client, "/api/nodes/register", {"enrollment_token": other_token, "name": "b"})

    refused = client.get(f"/api/nodes/{other.json()['node_id']}/config",
                         headers={"X-API-Key": key})  # fmt: skip
    anonymous = client.get(f"/api/nodes/{node_id}/config")
    missing = staff_client.get("/api/nodes/9999/config")

    assert refused.status_code == 403
    assert anonymous.status_code == 401
    assert (missing.status_code, missing.json()) == (
        404, error(404, "not_found", "no node has the id 9999"),
    )  # fmt: skip


def test_a_node_without_heartbeats_for_three_intervals_shows_as_lost(
    client: Client, staff_client: Client, registered: tuple[int, str]
) -> None:
    _, key = registered
    with time_machine.travel(NOW, tick=False):
        post(client, "/api/heartbeat", {"status": "healthy"}, X_API_KEY=key)

    with time_machine.travel(NOW + dt.timedelta(seconds=179), tick=False):
        online = staff_client.get("/autoscaler/nodes/")
    with time_machine.travel(NOW + dt.timedelta(seconds=181), tick=False):
        lost = staff_client.get("/autoscaler/nodes/")

    assert online.status_code == lost.status_code == 200
    assert '<td class="">Online</td>' in online.content.decode()
    assert '<td class="lost">Lost</td>' in lost.content.decode()


def test_a_config_edited_in_the_admin_is_validated_and_hashed_like_the_api(
    admin_client: Client, registered: tuple[int, str]
) -> None:
    node_id, _ = registered
    path = f"/admin/autoscaler/agentnode/{node_id}/change/"
    bad = dict(POOLS_DOCUMENT, pools=[dict(POOLS_DOCUMENT["pools"][0], monitoring_method="x")])

    refused = admin_client.post(path, {"name": "agent-1", "status": "", "config": json.dumps(bad)})
    saved = admin_client.post(
        path, {"name": "agent-1", "status": "", "config": json.dumps(POOLS_DOCUMENT)}
    )

    assert refused.status_code == 200
    assert "unknown monitoring_method &#x27;x&#x27;" in refused.content.decode()
    assert saved.status_code == 302
    node = AgentNode.objects.get()
    assert (node.config, node.config_hash) == (
        POOLS_DOCUMENT,
        config_document_hash(POOLS_DOCUMENT),
    )

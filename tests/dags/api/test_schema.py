"""The OpenAPI schema at /api/schema/ documents every REST endpoint, pools and deployments among
them, with token and session authentication, and drf-spectacular finds nothing to warn about."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

# path -> its methods, for the endpoints outside the dags app.
POOLS_AND_DEPLOYMENTS = {
    "/api/pools": {"get", "post"},
    "/api/pools/{pool_id}": {"get", "put"},
    "/api/deployments/": {"get", "post"},
    "/api/deployments/{name}/": {"get"},
    "/api/deployments/{name}/deprovision": {"post"},
}


@pytest.fixture
def schema(client) -> dict:
    answer = client.get("/api/schema/", {"format": "json"})
    assert answer.status_code == 200
    return answer.json()


def test_the_schema_lists_pools_and_deployments_with_their_methods(schema) -> None:
    listed = {
        path: set(operations) - {"parameters"}
        for path, operations in schema["paths"].items()
        if path in POOLS_AND_DEPLOYMENTS
    }
    assert listed == POOLS_AND_DEPLOYMENTS


def test_they_take_a_token_or_the_session(schema) -> None:
    for path in POOLS_AND_DEPLOYMENTS:
        for operation in schema["paths"][path].values():
            assert operation["security"] == [{"ApiToken": []}, {"cookieAuth": []}], path


def test_the_agents_machine_endpoints_stay_out_of_it(schema) -> None:
    assert not [path for path in schema["paths"] if path.startswith(("/api/nodes", "/api/heart"))]


def test_the_schema_generates_without_warnings() -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=io.StringIO())

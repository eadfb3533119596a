"""Every API endpoint and action, for anonymous, viewer, operator and admin: the exact status.

One table drives it all; each cell runs on a fresh database so no cell depends on another.
"""

from __future__ import annotations

import pytest

from dags.models import DagRun
from dags.services.runs import fail_run, start_run
from tests.dags.api.conftest import QUICK

pytestmark = pytest.mark.django_db

REPLACED = {**QUICK, "description": "replaced"}
CREATED = {**QUICK, "name": "created"}

# (what, method, path, body, statuses for anonymous / viewer / operator / admin)
MATRIX = [
    ("list DAGs", "get", "/api/dags/", None, (401, 200, 200, 200)),
    ("show a DAG", "get", "/api/dags/quick/", None, (401, 200, 200, 200)),
    (
        "create a DAG",
        "post",
        "/api/dags/",
        {"definition": CREATED, "folder": "{folder}"},
        (401, 403, 403, 201),
    ),
    (
        "replace a DAG",
        "put",
        "/api/dags/quick/",
        {"definition": REPLACED, "folder": "{folder}"},
        (401, 403, 403, 200),
    ),
    ("delete a DAG", "delete", "/api/dags/idle/", None, (401, 403, 403, 204)),
    ("list a DAG's runs", "get", "/api/dags/quick/runs/", None, (401, 200, 200, 200)),
    ("trigger a run", "post", "/api/dags/quick/runs/", {"params": {}}, (401, 403, 201, 201)),
    ("stop a DAG", "post", "/api/dags/quick/pause/", {}, (401, 403, 200, 200)),
    ("start a DAG", "post", "/api/dags/quick/resume/", {}, (401, 403, 200, 200)),
    ("list runs", "get", "/api/runs/", None, (401, 200, 200, 200)),
    ("show a run", "get", "/api/runs/{running}/", None, (401, 200, 200, 200)),
    ("cancel a run", "post", "/api/runs/{running}/cancel/", None, (401, 403, 200, 200)),
    ("retry a run", "post", "/api/runs/{failed}/retry/", None, (401, 403, 200, 200)),
    ("a run's log", "get", "/api/runs/{running}/log/", None, (401, 200, 200, 200)),
    ("a run's nodes", "get", "/api/runs/{running}/nodes/", None, (401, 200, 200, 200)),
    ("a node's log", "get", "/api/runs/{running}/nodes/one/log/", None, (401, 200, 200, 200)),
    ("queues", "get", "/api/queues/", None, (401, 200, 200, 200)),
    ("workers", "get", "/api/workers/", None, (401, 200, 200, 200)),
    ("the schema", "get", "/api/schema/", None, (200, 200, 200, 200)),
]
CELLS = [
    pytest.param(method, path, body, role, expected, id=f"{what} as {role}")
    for what, method, path, body, statuses in MATRIX
    for role, expected in zip(("anonymous", "viewer", "operator", "admin"), statuses, strict=True)
]


@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), CELLS)
def test_each_role_gets_exactly_its_status(
    method, path, body, role, expected, client_as, quick_dag, make_dag
):
    make_dag({**QUICK, "name": "idle"})
    running = start_run(dag=quick_dag)
    failed = start_run(dag=quick_dag)
    fail_run(failed.pk, error="made to fail for the test")
    url = path.format(running=running.pk, failed=failed.pk)
    if body and "folder" in body:
        body = {**body, "folder": quick_dag.folder}
    client = client_as(role)
    answer = (
        getattr(client, method)(url, body, format="json")
        if body is not None
        else (getattr(client, method)(url))
    )
    assert answer.status_code == expected, answer.content[:300]
    if expected in (401, 403):
        assert answer.json()["error"]["status"] == expected
        assert DagRun.objects.count() == 2, "a refused request changes nothing"

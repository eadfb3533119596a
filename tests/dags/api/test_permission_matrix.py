"""Every API endpoint and action, for anonymous, viewer, operator and admin: the exact status.

One table drives it all, the DAG and run endpoints, the pools and the deployments alike; each
cell runs on a fresh database so no cell depends on another. A refused cell also proves that the
refusal changed nothing and sent nothing to a worker.
"""

from __future__ import annotations

import pytest

from autoscaler.models import Pool
from autoscaler.services.pools import save_pool
from dags.models import Dag, DagRun
from dags.services.runs import fail_run, start_run
from provisioning.models import Deployment
from provisioning.states import DeploymentState
from tests.conftest import ROLES
from tests.dags.api.conftest import QUICK

pytestmark = pytest.mark.django_db

REPLACED = {**QUICK, "description": "replaced"}
CREATED = {**QUICK, "name": "created"}
POOL = {
    "name": "web",
    "instance_pool_id": "ocid1.instancepool.oc1..web",
    "region": "us-ashburn-1",
    "monitoring_method": "oci",
    "cpu_threshold": 80,
    "ram_threshold": 80,
    "scaling_limits": {"min": 1, "max": 4},
}
NEW_POOL = {**POOL, "name": "api", "instance_pool_id": "ocid1.instancepool.oc1..api"}
DRY_RUN = {"repo_url": "file:///srv/git/site.git", "name": "planned", "dry_run": True}

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
    ("clone a DAG", "post", "/api/dags/quick/clone/", None, (401, 403, 201, 201)),
    ("list runs", "get", "/api/runs/", None, (401, 200, 200, 200)),
    ("show a run", "get", "/api/runs/{running}/", None, (401, 200, 200, 200)),
    ("cancel a run", "post", "/api/runs/{running}/cancel/", None, (401, 403, 200, 200)),
    ("retry a run", "post", "/api/runs/{failed}/retry/", None, (401, 403, 200, 200)),
    ("a run's log", "get", "/api/runs/{running}/log/", None, (401, 200, 200, 200)),
    ("a run's nodes", "get", "/api/runs/{running}/nodes/", None, (401, 200, 200, 200)),
    ("a node's log", "get", "/api/runs/{running}/nodes/one/log/", None, (401, 200, 200, 200)),
    ("queues", "get", "/api/queues/", None, (401, 200, 200, 200)),
    ("workers", "get", "/api/workers/", None, (401, 200, 200, 200)),
    ("list pools", "get", "/api/pools", None, (401, 200, 200, 200)),
    ("create a pool", "post", "/api/pools", NEW_POOL, (401, 403, 403, 201)),
    ("show a pool", "get", "/api/pools/{pool}", None, (401, 200, 200, 200)),
    (
        "replace a pool",
        "put",
        "/api/pools/{pool}",
        {**POOL, "cpu_threshold": 70},
        (401, 403, 403, 200),
    ),  # fmt: skip
    ("list deployments", "get", "/api/deployments/", None, (401, 200, 200, 200)),
    ("provision (dry run)", "post", "/api/deployments/", DRY_RUN, (401, 403, 201, 201)),
    ("show a deployment", "get", "/api/deployments/site/", None, (401, 200, 200, 200)),
    ("deprovision", "post", "/api/deployments/site/deprovision", None, (401, 403, 202, 202)),
    ("the schema", "get", "/api/schema/", None, (200, 200, 200, 200)),
    # A method an endpoint does not have is a 405 for every signed-in role, never a 403.
    ("delete a pool", "delete", "/api/pools/{pool}", None, (401, 405, 405, 405)),
    ("delete a run", "delete", "/api/runs/{running}/", None, (401, 405, 405, 405)),
]
CELLS = [
    pytest.param(method, path, body, role, expected, id=f"{what} as {role}")
    for what, method, path, body, statuses in MATRIX
    for role, expected in zip(ROLES, statuses, strict=True)
]


def everything_the_api_changes() -> list:
    return [
        list(Dag.objects.order_by("pk").values()),
        list(DagRun.objects.order_by("pk").values()),
        list(Pool.objects.order_by("pk").values()),
        list(Deployment.objects.order_by("pk").values()),
    ]


@pytest.mark.parametrize(("method", "path", "body", "role", "expected"), CELLS)
def test_each_role_gets_exactly_its_status(
    method,
    path,
    body,
    role,
    expected,
    client_as,
    quick_dag,
    make_dag,
    django_capture_on_commit_callbacks,
):
    make_dag({**QUICK, "name": "idle"})
    running = start_run(dag=quick_dag)
    failed = start_run(dag=quick_dag)
    fail_run(failed.pk, error="made to fail for the test")
    pool = save_pool(POOL)
    Deployment.objects.create(
        name="site", repo_url="file:///srv/git/site.git", dry_run=True,
        state=DeploymentState.PLANNED,
    )  # fmt: skip
    url = path.format(running=running.pk, failed=failed.pk, pool=pool.pk)
    if body and "folder" in body:
        body = {**body, "folder": quick_dag.folder}
    client = client_as(role)
    before = everything_the_api_changes()

    with django_capture_on_commit_callbacks() as sent:
        answer = (
            getattr(client, method)(url, body, format="json")
            if body is not None
            else (getattr(client, method)(url))
        )

    assert answer.status_code == expected, answer.content[:300]
    if expected in (401, 403, 405):
        assert answer.json()["error"]["status"] == expected
        assert everything_the_api_changes() == before, "a refused request changes nothing"
        assert sent == [], "a refused request sends nothing to a worker"

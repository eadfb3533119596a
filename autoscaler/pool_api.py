"""The REST API for pools: list and create them, show and replace one.

The house API under ``/api/``: an API token or the web session (whose writes carry the CSRF
token), and the role check every surface asks. Viewers read; a pool's entry is a definition, like
a DAG's, so creating or replacing one needs ``Action.EDIT_DEFINITIONS`` (admins). A body is the
pool's ``config.yaml`` entry with its id (``services.pools.pool_body``), validated like the file;
refusals have the one error shape (``orchestrator.api_errors``): 400 names the field, 404 an
unknown pool. Pools are configuration, few and named, so the list is not paged (like the DAGs).
"""

from __future__ import annotations

from collections.abc import Mapping

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from autoscaler import errors
from autoscaler.errors import AutoscalerError
from autoscaler.models import Pool
from autoscaler.pool_config import PoolConfigError
from autoscaler.services import pools
from orchestrator.api_errors import invalid
from orchestrator.roles import Action

OBJECT = OpenApiTypes.OBJECT
ENTRY_EXAMPLE = OpenApiExample(
    "an OCI pool",
    value={
        "name": "web",
        "instance_pool_id": "ocid1.instancepool.oc1..web",
        "region": "us-ashburn-1",
        "monitoring_method": "oci",
        "cpu_threshold": 80,
        "ram_threshold": 80,
        "scaling_limits": {"min": 1, "max": 4},
    },
    request_only=True,
)


def saved(request: Request, pool: Pool | None = None) -> Pool:
    """Create or replace a pool from the request's entry; a refusal is a 400 naming the field."""
    if not isinstance(request.data, Mapping):
        raise invalid(errors.BAD_JSON)
    try:
        return pools.save_pool(request.data, pool=pool)
    except (PoolConfigError, AutoscalerError) as refusal:
        raise invalid(str(refusal), refusal.field) from refusal


def pool_or_404(pool_id: int) -> Pool:
    pool = Pool.objects.filter(pk=pool_id).first()
    if pool is None:
        raise NotFound(errors.UNKNOWN_POOL_ID.format(pool=pool_id))
    return pool


class PoolList(APIView):
    parser_classes = [JSONParser]  # an entry nests mappings (scaling_limits, schedules)
    actions_by_method = {"GET": Action.VIEW, "POST": Action.EDIT_DEFINITIONS}

    @extend_schema(
        responses=OBJECT,
        operation_id="pools_list",
        summary='Every pool as its config.yaml entry, in a {"pools": [...]} document',
    )
    def get(self, request: Request) -> Response:
        return Response({"pools": [pools.pool_body(pool) for pool in Pool.objects.all()]})

    @extend_schema(
        request=OBJECT,
        responses={201: OBJECT},
        examples=[ENTRY_EXAMPLE],
        operation_id="pools_create",
        summary="Create a pool from one config.yaml entry",
    )
    def post(self, request: Request) -> Response:
        return Response(pools.pool_body(saved(request)), status=status.HTTP_201_CREATED)


class PoolDetail(APIView):
    parser_classes = [JSONParser]
    actions_by_method = {"GET": Action.VIEW, "PUT": Action.EDIT_DEFINITIONS}

    @extend_schema(
        responses=OBJECT,
        operation_id="pools_retrieve",
        summary="One pool's entry and its latest evaluation",
    )
    def get(self, request: Request, pool_id: int) -> Response:
        return Response(pools.pool_detail_body(pool_or_404(pool_id)))

    @extend_schema(
        request=OBJECT,
        responses=OBJECT,
        examples=[ENTRY_EXAMPLE],
        operation_id="pools_update",
        summary="Replace a pool's settings with an entry (evaluated at the next tick)",
    )
    def put(self, request: Request, pool_id: int) -> Response:
        return Response(pools.pool_body(saved(request, pool_or_404(pool_id))))

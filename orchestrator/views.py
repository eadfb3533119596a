"""Project-level views: the health endpoint load balancers and `dagyard up` poll."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from orchestrator.health import check_database, check_redis


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database and Redis answer; 503 naming whatever is down."""
    checks = [check_database(), check_redis()]
    down = [check.name for check in checks if not check.ok]
    body = {
        "status": "unavailable" if down else "ok",
        "down": down,
        "checks": {check.name: {"ok": check.ok, "detail": check.detail} for check in checks},
    }
    return JsonResponse(body, status=503 if down else 200)

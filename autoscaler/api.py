"""The agents' machine protocol: registration, heartbeats, central config; and ``/metrics``.

Agents authenticate with an enrollment token or ``X-API-Key`` and are exempt from CSRF (they hold
no session). Changing a node's config needs a staff session, which keeps Django's CSRF protection.
Refusals have the REST API's shape (``orchestrator.api_errors``), so one client handles both; the
REST API's pools live in ``autoscaler.pool_api``.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from rest_framework import exceptions

from autoscaler import errors
from autoscaler.errors import AutoscalerError, Forbidden, NotAuthenticated, NotFound
from autoscaler.metrics import CONTENT_TYPE, render_metrics
from autoscaler.pool_config import PoolConfigError
from autoscaler.services import nodes
from orchestrator.api_errors import error_json, invalid
from orchestrator.roles import Action, allowed

View = Callable[..., HttpResponse]


def json_errors(view: View) -> View:
    """Turn the services' refusals into JSON answers with the right status."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotAuthenticated as error:
            return error_json(exceptions.NotAuthenticated(str(error)))
        except Forbidden as error:
            return error_json(exceptions.PermissionDenied(str(error)))
        except NotFound as error:
            return error_json(exceptions.NotFound(str(error)))
        except (PoolConfigError, AutoscalerError) as error:
            return error_json(invalid(str(error), error.field))

    return wrapped


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise AutoscalerError(errors.BAD_JSON) from error
    if not isinstance(body, dict):
        raise AutoscalerError(errors.BAD_JSON)
    return body


@csrf_exempt
@never_cache
@require_POST
@json_errors
def register(request: HttpRequest) -> HttpResponse:
    body = _body(request)
    node, api_key = nodes.register_node(
        enrollment_token=body.get("enrollment_token", ""),
        name=body.get("name", ""),
        now=timezone.now(),
    )
    return JsonResponse({"node_id": node.pk, "name": node.name, "api_key": api_key}, status=201)


@csrf_exempt
@never_cache
@require_POST
@json_errors
def heartbeat(request: HttpRequest) -> HttpResponse:
    node = nodes.authenticate_node(request.headers.get("X-API-Key"))
    body = _body(request)
    if body.get("node_id") is not None:
        nodes.require_same_node(node, body["node_id"])
    answer = nodes.record_heartbeat(
        node,
        status=body.get("status"),
        config_hash=body.get("config_hash"),
        pool_analytics=body.get("pool_analytics"),
        now=timezone.now(),
    )
    return JsonResponse(
        {
            "node_id": answer.node_id,
            "config_update_needed": answer.config_update_needed,
            "config_hash": answer.config_hash,
        }
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "PUT"])
@json_errors
def node_config(request: HttpRequest, node_id: int) -> HttpResponse:
    if request.method == "PUT":
        return _put_node_config(request, node_id)
    if request.headers.get("X-API-Key") or not request.user.is_authenticated:
        caller = nodes.authenticate_node(request.headers.get("X-API-Key"))
        nodes.require_same_node(caller, node_id)
    elif not (request.user.is_staff or allowed(request.user, Action.VIEW)):
        raise Forbidden(errors.VIEWERS_ONLY)
    return JsonResponse(nodes.node_config_body(nodes.get_node(node_id)))


def _put_node_config(request: HttpRequest, node_id: int) -> HttpResponse:
    # The view is csrf_exempt for agents' GETs; a session-authenticated change must still prove
    # it came from our own pages.
    from django.middleware.csrf import CsrfViewMiddleware

    if not request.user.is_authenticated:
        raise NotAuthenticated(errors.LOGIN_REQUIRED)
    if not (request.user.is_staff or allowed(request.user, Action.EDIT_DEFINITIONS)):
        raise Forbidden(errors.ADMINS_ONLY)
    csrf_refusal = CsrfViewMiddleware(lambda r: HttpResponse()).process_view(
        request, _put_node_config, (), {}
    )
    if csrf_refusal is not None:
        return csrf_refusal
    body = _body(request)
    node = nodes.set_node_config(
        nodes.get_node(node_id),
        config=body.get("config"),
        yaml_config=body.get("yaml_config"),
        now=timezone.now(),
    )
    return JsonResponse(
        {
            "node_id": node.pk,
            "config_hash": node.config_hash,
            "pools": len(node.config.get("pools", [])),
        }
    )


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Open by default, like an exporter; ``DAGYARD_METRICS_TOKEN`` asks scrapers for a bearer
    token (Prometheus: ``authorization: {credentials: ...}`` in the scrape config)."""
    token = os.environ.get("DAGYARD_METRICS_TOKEN", "")
    if token:
        offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(offered.encode(), token.encode()):
            return HttpResponse(
                errors.METRICS_TOKEN_REQUIRED + "\n", status=401, content_type=CONTENT_TYPE
            )
    return HttpResponse(render_metrics(now=timezone.now()), content_type=CONTENT_TYPE)

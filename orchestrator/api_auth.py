"""The REST API's gatekeeping: token authentication and role checks."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission

from orchestrator.models import TOKEN_PREFIX, ApiToken
from orchestrator.roles import Action, allowed

TOKEN_KEYWORDS = (b"token", b"bearer")
BAD_TOKEN = "The API token is not valid."  # noqa: S105 - a message
TOUCH_EVERY = timedelta(minutes=1)


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Token dgy_<id>_<secret>` (or `Bearer`)."""

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() not in TOKEN_KEYWORDS:
            return None
        if len(words) != 2:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        prefix, _, rest = words[1].decode(errors="replace").partition("_")
        key_id, _, secret = rest.partition("_")
        if prefix != TOKEN_PREFIX or not key_id or not secret:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        token = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
        if token is None or not token.matches(secret) or not token.user.is_active:
            raise exceptions.AuthenticationFailed(BAD_TOKEN)
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        return "Token"


class RolePermission(BasePermission):
    """A view names the action each HTTP method needs: `actions = {"GET": Action.VIEW, ...}`;
    methods it does not name need `Action.VIEW` when safe and are refused otherwise. A method the
    view does not have at all is left to DRF's 405, so no role sees a 403 for it."""

    message = "Your role does not allow this."

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if not hasattr(view, request.method.lower()):
            return True  # the view has no such method: the answer is a 405, whatever the role
        actions: dict[str, Action] = getattr(view, "actions_by_method", {})
        action = actions.get(request.method)
        if action is None:
            action = Action.VIEW if request.method in ("GET", "HEAD", "OPTIONS") else None
        return action is not None and allowed(request.user, action)

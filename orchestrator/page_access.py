"""The one guard every server-rendered page uses: anonymous users go to the login page, and a
signed-in user whose role does not allow the action gets a 403 (see `orchestrator/roles.py`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from orchestrator.roles import Action, allowed

View = Callable[..., HttpResponse]


def requires(action: Action) -> Callable[[View], View]:
    """Guard a page view with the role ``action`` needs."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user, action):
                raise PermissionDenied(f"Your role does not allow this ({action.value}).")
            return view(request, *args, **kwargs)

        return guarded

    return decorate

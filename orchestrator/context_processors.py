"""Values every page's template may use."""

from __future__ import annotations

from functools import partial

from django.http import HttpRequest

from orchestrator.roles import may_use_admin_site


def admin_link(request: HttpRequest) -> dict[str, object]:
    """`may_use_admin`: whether the nav offers the admin, by the very rule the admin lets in by.
    A callable, so a page that never asks costs no query."""
    return {"may_use_admin": partial(may_use_admin_site, request.user)}

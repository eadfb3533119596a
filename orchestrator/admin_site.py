"""The Django admin site, letting in whom the roles say (`roles.may_use_admin_site`).

Django's own site and login form admit staff accounts only, which Dagyard's admin role is not:
an admin is a member of the `admin` group. `DagyardAdminConfig` (orchestrator/apps.py) makes this
site the default one, so every `admin.register` and `/admin/` use it.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from orchestrator.roles import may_use_admin_site

NOT_AN_ADMIN_ACCOUNT = (
    "Please enter the correct %(username)s and password of an admin account. "
    "Note that both fields may be case-sensitive."
)


class AdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": NOT_AN_ADMIN_ACCOUNT,
    }

    def confirm_login_allowed(self, user) -> None:  # type: ignore[no-untyped-def]
        # The parent refuses accounts that are not staff; ask the roles instead.
        if not may_use_admin_site(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class DagyardAdminSite(admin.AdminSite):
    login_form = AdminLoginForm

    def has_permission(self, request: HttpRequest) -> bool:
        return may_use_admin_site(request.user)

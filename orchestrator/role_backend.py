"""Model permissions from roles, so the Django admin means what the pages and the API mean.

The admin asks `user.has_perm("dags.change_dag")`; ModelBackend answers from permission rows,
which Dagyard's role groups do not hold, and hand-kept rows would drift from the role table. This
backend answers from that table (`orchestrator.roles.REQUIRED_ROLE`) instead: whoever may edit
definitions holds every permission on Dagyard's apps, whoever may manage users every permission
on users, groups and API tokens. Viewers and operators hold none here: they read and act on the
pages and the API, and the admin does not let them in (`roles.may_use_admin_site`).

It authenticates no one: ModelBackend, before it in AUTHENTICATION_BACKENDS, does that, and still
answers for any permission rows a staff account was given by hand. A role holds for every object
of a model, so an object-level check gets the model-level answer.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_permission_codename, get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission
from django.db.models import Model

from orchestrator.roles import Action, allowed, role_of

User = AbstractBaseUser | AnonymousUser

APP_ACTIONS: dict[str, Action] = {
    "dags": Action.EDIT_DEFINITIONS,
    "autoscaler": Action.EDIT_DEFINITIONS,
    "provisioning": Action.EDIT_DEFINITIONS,
    "orchestrator": Action.MANAGE_USERS,  # API tokens: users' credentials
}
"""Dagyard's apps: every permission on each goes with the action named."""


@cache
def account_permissions() -> frozenset[str]:
    """Every permission on the user and group models, as 'app_label.codename'."""
    names: set[str] = set()
    for model in (get_user_model(), Group):
        opts = model._meta
        codenames = [get_permission_codename(verb, opts) for verb in opts.default_permissions]
        codenames += [codename for codename, _ in opts.permissions]
        names.update(f"{opts.app_label}.{codename}" for codename in codenames)
    return frozenset(names)


def action_for_permission(perm: str) -> Action | None:
    """The role action that carries a Django permission, or None when no role carries it."""
    app_label = perm.partition(".")[0]
    if app_label in APP_ACTIONS:
        return APP_ACTIONS[app_label]
    if perm in account_permissions():
        return Action.MANAGE_USERS
    return None


def actions_for_app(app_label: str) -> set[Action]:
    actions = {APP_ACTIONS[app_label]} if app_label in APP_ACTIONS else set()
    actions.update(
        Action.MANAGE_USERS for perm in account_permissions() if perm.partition(".")[0] == app_label
    )
    return actions


class RoleBackend(BaseBackend):
    """Grants Django model permissions by role; see the module's docstring."""

    def has_perm(self, user_obj: User, perm: str, obj: Model | None = None) -> bool:
        action = action_for_permission(perm)
        return action is not None and allowed(user_obj, action)

    def has_module_perms(self, user_obj: User, app_label: str) -> bool:
        return any(allowed(user_obj, action) for action in actions_for_app(app_label))

    def get_all_permissions(self, user_obj: User, obj: Model | None = None) -> set[str]:
        if role_of(user_obj) is None:
            return set()
        labels = {perm.partition(".")[0] for perm in account_permissions()} | set(APP_ACTIONS)
        rows = Permission.objects.filter(content_type__app_label__in=labels).values_list(
            "content_type__app_label", "codename"
        )
        perms = (f"{app_label}.{codename}" for app_label, codename in rows)
        return {perm for perm in perms if self.has_perm(user_obj, perm)}

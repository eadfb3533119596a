"""Who may do what: three roles as Django groups, and one check every surface asks.

Viewers read. Operators also trigger, cancel, retry, start, stop and clone. Admins also edit
definitions and users. A superuser is an admin. Pages, the API and commands all call
`allowed(user, action)`, so a role means the same thing everywhere; the permission matrix test
drives every endpoint from the one table below. The Django admin asks the same table through
`orchestrator.role_backend` (its model permissions) and `may_use_admin_site` (who gets in).
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(IntEnum):
    """Ordered: each role may do everything the one below it may."""

    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def group_name(self) -> str:
        return self.name.lower()


class Action(StrEnum):
    VIEW = "view"
    TRIGGER = "trigger"
    CANCEL = "cancel"
    RETRY = "retry"
    START_STOP = "start_stop"
    CLONE = "clone"
    """Make an ordinary clone of a DAG by hand (the pages' and the admin's Clone action)."""
    PROVISION = "provision"
    EDIT_DEFINITIONS = "edit_definitions"
    MANAGE_USERS = "manage_users"


REQUIRED_ROLE: dict[Action, Role] = {
    Action.VIEW: Role.VIEWER,
    Action.TRIGGER: Role.OPERATOR,
    Action.CANCEL: Role.OPERATOR,
    Action.RETRY: Role.OPERATOR,
    Action.START_STOP: Role.OPERATOR,
    Action.CLONE: Role.OPERATOR,
    Action.PROVISION: Role.OPERATOR,
    Action.EDIT_DEFINITIONS: Role.ADMIN,
    Action.MANAGE_USERS: Role.ADMIN,
}

ROLE_GROUPS = {role.group_name: role for role in Role}

ADMIN_SITE_ACTIONS = (Action.EDIT_DEFINITIONS, Action.MANAGE_USERS)
"""The actions done in the Django admin: whoever may do one of them may use it."""


def role_of(user: AbstractBaseUser | AnonymousUser | None) -> Role | None:
    """The highest role the user holds, or None (anonymous, inactive, or in no role group)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Role.ADMIN
    cached = getattr(user, "_dagyard_role", False)
    if cached is not False:
        return cached
    names = user.groups.filter(name__in=ROLE_GROUPS).values_list("name", flat=True)
    role = max((ROLE_GROUPS[name] for name in names), default=None)
    user._dagyard_role = role  # one query per request, not one per check
    return role


def allowed(user: AbstractBaseUser | AnonymousUser | None, action: Action) -> bool:
    role = role_of(user)
    return role is not None and role >= REQUIRED_ROLE[action]


def may_use_admin_site(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """The Django admin is where admins edit definitions and users, so it lets in the admin role.
    Staff accounts keep their way in, holding only the model permissions given to them."""
    if user is None or not user.is_active:
        return False
    return user.is_staff or any(allowed(user, action) for action in ADMIN_SITE_ACTIONS)

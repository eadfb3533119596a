"""Fixtures for the page tests: a user in each role, a small DAG, and headless Chromium.

Browser tests drive Debian's /usr/bin/chromium through Playwright against `live_server`. The
test body reads the database while Playwright's event loop runs in the same thread, which Django
refuses unless told that this is safe here (it is: nothing else shares the connection).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from dags.models import Dag

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
PASSWORD = "correct-horse-battery"
ROLES = ("viewer", "operator", "admin")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


def make_user(
    name: str, group: str | None = None, *, staff: bool = False, password: str | None = None
) -> User:
    """A user in a role group; without a password unless one is given (hashing one is slow)."""
    user = User.objects.create_user(name, password=password, is_staff=staff)
    if group:
        # get_or_create: a transactional test flushes the groups the migration made.
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def client_as(db) -> Callable[[str | None], Client]:
    """`client_as("operator")` is a client logged in as a user of that role; `"nobody"` has no
    role, `None` is anonymous."""

    def client(role: str | None) -> Client:
        browser = Client()
        if role is not None:
            name = f"{role}-user"
            user = User.objects.filter(username=name).first()
            if user is None:
                user = make_user(name, role if role in ROLES else None, staff=role == "admin")
            browser.force_login(user)
        return browser

    return client


@pytest.fixture
def chain_dag(make_dag) -> Dag:
    """a -> b -> c, each running /bin/true."""
    return make_dag(
        {
            "name": "chain",
            "description": "Three steps in a row.",
            "labels": {"team": "data"},
            "schedule": "0 2 * * *",
            "resources": {"cpu_percent": 95},
            "nodes": [
                {"id": "a", "command": ["/bin/true"]},
                {"id": "b", "command": ["/bin/true"], "in": ["a"]},
                {"id": "c", "command": ["/bin/true"], "in": ["b"]},
            ],
        }
    )

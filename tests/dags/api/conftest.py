"""Users in each role, an API client per role, and DAGs and runs in known states."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.test import APIClient

from orchestrator.models import ApiToken

ROLES = ("anonymous", "viewer", "operator", "admin")


def user_in(role: str) -> User:
    user = User.objects.create_user(username=role, password="a long test password")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def client_as():
    """`client_as(role)`: an API client authenticated with that role's own API token."""

    def make(role: str) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            _token, text = ApiToken.issue(user=user_in(role), name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Token {text}")
        return client

    return make


QUICK = {"name": "quick", "max_active_runs": 2, "nodes": [{"id": "one", "command": ["/bin/true"]}]}


@pytest.fixture
def quick_dag(make_dag):
    return make_dag(QUICK)

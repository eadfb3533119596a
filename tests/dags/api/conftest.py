"""DAGs and runs in known states for the API tests (the role clients are in tests/conftest.py)."""

from __future__ import annotations

import pytest

QUICK = {"name": "quick", "max_active_runs": 2, "nodes": [{"id": "one", "command": ["/bin/true"]}]}


@pytest.fixture
def quick_dag(make_dag):
    return make_dag(QUICK)

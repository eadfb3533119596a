"""How the API pages a collection that grows with use (runs, node runs, deployments):
`{"count", "next", "previous", "results"}`, `?page=` and `?page_size=` (at most 500)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response


class Paginator(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


def paginated(request: Request, queryset, document: Callable[[Any], dict]) -> Response:
    """One page of `queryset`, each row rendered by `document` (the CLI's --json shape)."""
    paginator = Paginator()
    page = paginator.paginate_queryset(queryset, request)
    return paginator.get_paginated_response([document(item) for item in page])

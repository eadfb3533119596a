"""The shape of a validated DAG: a stable topological order, and who waits for whom.

A ``Graph`` is built once per definition and shared by every run of it, so it is immutable and
small: one position per node, and each edge stored twice (as a parent and as a child) in tuples
of node ids. Memory grows with nodes plus edges, never with their product, which keeps a
10,000-node DAG cheap to plan. Builders should go through ``validation.validate``; ``Graph.build``
trusts that every prerequisite names a node and that there is no cycle.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType


class GraphCycleError(ValueError):
    """Raised by ``Graph.build`` when some nodes wait for each other; validation names them."""


@dataclass(frozen=True, slots=True)
class Graph:
    """Nodes in a stable topological order, with parent and child tuples for each."""

    order: tuple[str, ...]
    """Every node once, each after all its prerequisites; ties keep definition order."""
    parents: Mapping[str, tuple[str, ...]]
    """Node id to the ids it waits for, in definition order."""
    children: Mapping[str, tuple[str, ...]]
    """Node id to the ids that wait for it, in topological order."""
    roots: tuple[str, ...]
    """Nodes with no prerequisites, in definition order: what a new run dispatches first."""

    @classmethod
    def build(cls, edges: Iterable[tuple[str, Iterable[str]]]) -> Graph:
        """Build from ``(node id, prerequisite ids)`` pairs in definition order.

        Kahn's algorithm with a heap keyed by definition position, so the order is the same on
        every build and reads like the file where the graph allows.
        """
        parents: dict[str, tuple[str, ...]] = {}
        for node_id, prerequisites in edges:
            parents[node_id] = tuple(dict.fromkeys(prerequisites))
        position = {node_id: index for index, node_id in enumerate(parents)}
        waiting_on = {node_id: len(needs) for node_id, needs in parents.items()}
        dependants: dict[str, list[str]] = {node_id: [] for node_id in parents}
        for node_id, needs in parents.items():
            for parent in needs:
                dependants[parent].append(node_id)

        heap = [position[node_id] for node_id, count in waiting_on.items() if count == 0]
        heapq.heapify(heap)
        names = tuple(parents)
        order: list[str] = []
        while heap:
            node_id = names[heapq.heappop(heap)]
            order.append(node_id)
            for child in dependants[node_id]:
                waiting_on[child] -= 1
                if waiting_on[child] == 0:
                    heapq.heappush(heap, position[child])
        if len(order) != len(parents):
            raise GraphCycleError("the graph has a cycle; validation.validate names it")

        rank = {node_id: index for index, node_id in enumerate(order)}
        children = {
            node_id: tuple(sorted(dependants[node_id], key=rank.__getitem__)) for node_id in order
        }
        return cls(
            order=tuple(order),
            parents=MappingProxyType({node_id: parents[node_id] for node_id in order}),
            children=MappingProxyType(children),
            roots=tuple(node_id for node_id in names if not parents[node_id]),
        )

    def __len__(self) -> int:
        return len(self.order)

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.parents

    @property
    def leaves(self) -> tuple[str, ...]:
        """Nodes nothing waits for, in topological order."""
        return tuple(node_id for node_id in self.order if not self.children[node_id])

    @property
    def edge_count(self) -> int:
        return sum(len(needs) for needs in self.parents.values())

    def descendants(self, node_id: str) -> frozenset[str]:
        """Every node that waits for ``node_id``, directly or through others."""
        return self._reach(node_id, self.children)

    def ancestors(self, node_id: str) -> frozenset[str]:
        """Every node ``node_id`` waits for, directly or through others."""
        return self._reach(node_id, self.parents)

    def _reach(self, start: str, links: Mapping[str, tuple[str, ...]]) -> frozenset[str]:
        seen: set[str] = set()
        stack = list(links[start])
        while stack:
            node_id = stack.pop()
            if node_id not in seen:
                seen.add(node_id)
                stack.extend(links[node_id])
        return frozenset(seen)

"""The graph a validated definition yields: its order, its edges, and its size."""

from __future__ import annotations

import random
from pathlib import Path

from dags.engine.definition import parse_definition
from dags.engine.graph import Graph
from dags.engine.ready import children_ready_after, ready_nodes, run_outcome
from dags.engine.validation import validate
from dags.states import NodeState, RunState


def layered_definition(layers: int, width: int, *, seed: int = 7) -> dict[str, object]:
    """`layers` × `width` nodes, each needing 1-3 nodes of the layer before it."""
    chooser = random.Random(seed)
    nodes: list[dict[str, object]] = []
    for layer in range(layers):
        for column in range(width):
            needs = []
            if layer:
                picks = chooser.sample(range(width), chooser.randint(1, 3))
                needs = [f"n{layer - 1}_{pick}" for pick in picks]
            nodes.append({"id": f"n{layer}_{column}", "command": ["true"], "in": needs})
    return {"nodes": nodes}


def test_the_order_puts_each_node_after_its_prerequisites_and_else_follows_the_file() -> None:
    graph = Graph.build([("z", ["y"]), ("y", []), ("x", []), ("w", ["x", "z"])])
    # Whenever several nodes could come next, the one defined first does: `z` before `x`.
    assert graph.order == ("y", "z", "x", "w")
    assert graph.roots == ("y", "x")
    assert graph.leaves == ("w",)
    assert graph.parents["w"] == ("x", "z")
    assert graph.children["y"] == ("z",)
    assert graph.children["x"] == ("w",)
    assert graph.edge_count == 3
    assert len(graph) == 4
    assert "w" in graph
    assert "v" not in graph


def test_the_order_is_the_same_on_every_build() -> None:
    edges = [(f"n{i}", [f"n{j}" for j in range(max(0, i - 3), i)]) for i in range(50)]
    assert Graph.build(edges).order == Graph.build(list(edges)).order


def test_descendants_and_ancestors_follow_edges_transitively() -> None:
    graph = Graph.build([("a", []), ("b", ["a"]), ("c", ["a"]), ("d", ["b", "c"]), ("e", [])])
    assert graph.descendants("a") == {"b", "c", "d"}
    assert graph.descendants("d") == frozenset()
    assert graph.ancestors("d") == {"a", "b", "c"}
    assert graph.ancestors("e") == frozenset()


def test_a_repeated_prerequisite_is_one_edge() -> None:
    graph = Graph.build([("a", []), ("b", ["a", "a"])])
    assert graph.parents["b"] == ("a",)
    assert graph.children["a"] == ("b",)


def test_ten_thousand_nodes_in_layers_build_validate_and_run_to_the_end() -> None:
    data = layered_definition(layers=500, width=20)
    definition = parse_definition(
        data, source="big.yaml", folder=Path("/nonexistent"), default_name="big"
    )
    graph = validate(definition, check_files=False)
    assert len(graph) == 10_000
    assert len(graph.roots) == 20
    position = {node_id: index for index, node_id in enumerate(graph.order)}
    assert all(
        position[parent] < position[node_id]
        for node_id in graph.order
        for parent in graph.parents[node_id]
    )

    # Drive the whole run one completion at a time, as workers would.
    states = dict.fromkeys(graph.order, NodeState.PENDING)
    queue = sorted(ready_nodes(graph, states))
    finished = 0
    while queue:
        node_id = queue.pop()
        states[node_id] = NodeState.SUCCEEDED
        finished += 1
        for child in children_ready_after(graph, states, node_id):
            states[child] = NodeState.QUEUED
            queue.append(child)
    assert finished == 10_000
    assert run_outcome(graph, states) is RunState.SUCCEEDED

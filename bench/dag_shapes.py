"""The DAGs the benchmarks run, built the same way for Dagyard and for every anchor.

A benchmark compares systems fairly only when each runs exactly the same graph: ``layered_dag``
builds it from a seed, so two runs (or two machines) get identical edges, and
``write_definition`` turns it into a Dagyard definition whose nodes all run one command.

The default shape is the one the benchmarks quote: 1,000 nodes in 50 layers of 20, each node
after the first layer waiting for 1 to 3 nodes. One prerequisite always comes from the layer just
before, so the critical path really is 50 nodes long; the others may reach one layer further back,
which gives the cross-links real pipelines have without changing the depth.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Mapping, Sequence
from pathlib import Path

DEFAULT_NODES = 1000
DEFAULT_WIDTH = 20
DEFAULT_MAX_PARENTS = 3
DEFAULT_SEED = 1
LOOKBACK_LAYERS = 2
"""Extra prerequisites come from this many layers before a node's own."""
DEFINITION_FILE = "dag.yaml"

Edges = dict[str, list[str]]
"""Node id to the ids it waits for, in an order where every node follows its prerequisites."""


def layered_dag(
    nodes: int = DEFAULT_NODES,
    width: int = DEFAULT_WIDTH,
    max_parents: int = DEFAULT_MAX_PARENTS,
    seed: int = DEFAULT_SEED,
) -> Edges:
    """A random layered DAG: ``nodes`` nodes in layers of ``width``, the same for the same seed.

    Every node after the first layer gets 1 to ``max_parents`` prerequisites: one from the layer
    just before it, the rest from the ``LOOKBACK_LAYERS`` layers before it.
    """
    if nodes < 1 or width < 1 or max_parents < 1:
        raise ValueError("nodes, width and max_parents must all be at least 1")
    rng = random.Random(seed)
    digits = max(4, len(str(nodes - 1)))
    ids = [f"n{index:0{digits}d}" for index in range(nodes)]
    layers = [ids[start : start + width] for start in range(0, nodes, width)]
    edges: Edges = {node: [] for node in layers[0]}
    for depth in range(1, len(layers)):
        previous = layers[depth - 1]
        reachable = [
            node for layer in layers[max(0, depth - LOOKBACK_LAYERS) : depth] for node in layer
        ]
        for node in layers[depth]:
            wanted = rng.randint(1, min(max_parents, len(reachable)))
            parents = [rng.choice(previous)]
            while len(parents) < wanted:
                candidate = rng.choice(reachable)
                if candidate not in parents:
                    parents.append(candidate)
            edges[node] = parents
    return edges


def depth(edges: Mapping[str, Sequence[str]]) -> int:
    """Nodes on the longest path: the fewest rounds any scheduler needs, however many cores."""
    level: dict[str, int] = {}
    for node, parents in edges.items():
        level[node] = 1 + max((level[parent] for parent in parents), default=0)
    return max(level.values(), default=0)


def edge_count(edges: Mapping[str, Sequence[str]]) -> int:
    return sum(len(parents) for parents in edges.values())


def write_definition(
    folder: Path,
    edges: Mapping[str, Sequence[str]],
    command: Sequence[str],
    *,
    name: str | None = None,
) -> Path:
    """Write ``folder/dag.yaml`` in Dagyard's format, every node running ``command``.

    ``command`` is an argument list whose program is an absolute path (``[sys.executable, "-c",
    "pass"]`` or ``["/bin/true"]``): then no node names a script in the folder and no worker looks
    a program up on PATH, so the benchmark measures orchestration, not a shim. The nodes are
    written one per line as YAML flow mappings (JSON strings are valid YAML), which stays fast to
    write and to read at 10,000 nodes.
    """
    argv = list(command)
    if not argv or not os.path.isabs(argv[0]):
        raise ValueError(f"command must start with an absolute program path, got {argv!r}")
    folder.mkdir(parents=True, exist_ok=True)
    quoted_command = json.dumps(argv)
    lines = [
        f"name: {json.dumps(name or folder.name)}",
        f"description: {json.dumps(f'Benchmark DAG of {len(edges)} nodes.')}",
        "max_active_runs: 1",
        "nodes:",
    ]
    for node, parents in edges.items():
        needs = json.dumps(list(parents))
        lines.append(f"  - {{id: {json.dumps(node)}, command: {quoted_command}, in: {needs}}}")
    path = folder / DEFINITION_FILE
    path.write_text("\n".join(lines) + "\n")
    return path

"""The shapes of a diagram before they become DOT text: nodes, edges and regions.

``build_graph`` (in ``build.py``) fills these records from a topology model;
``render_dot`` writes them out. Keeping them apart lets tests count nodes and
edges, and lets the limits be checked before any text is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.render.labels import Html


@dataclass
class Node:
    """One box in the picture; ``label`` is safe markup, ``tooltip`` plain text."""

    id: str
    label: Html
    tooltip: str
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Edge:
    """One line between two nodes, by node id."""

    tail: str
    head: str
    id: str
    tooltip: str
    label: Html | None = None
    attrs: dict[str, str] = field(default_factory=dict)


@dataclass
class Region:
    """A Graphviz cluster: the host, a port binding group or a Compose network."""

    id: str
    label: Html
    tooltip: str
    attrs: dict[str, str] = field(default_factory=dict)
    nodes: list[str] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)

    def is_empty(self) -> bool:
        """Tell whether the region would draw nothing but its own frame."""
        return not self.nodes and all(region.is_empty() for region in self.regions)


@dataclass
class Graph:
    """Everything one diagram draws, in the order it is written out.

    ``styles`` names each kind of mark drawn (``"built-image"``,
    ``"public"``, ``"depends_on"``...), so the legend explains only those.
    ``ranks`` lists groups of nodes Graphviz must put side by side.
    """

    title: Html
    direction: str
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    regions: list[Region] = field(default_factory=list)
    styles: set[str] = field(default_factory=set)
    ranks: list[list[str]] = field(default_factory=list)
    #: The ids of ``edges``, kept by ``add_edge`` (the one way edges are added)
    #: so that a new edge's id is checked without a pass over every edge.
    _edge_ids: set[str] = field(default_factory=set, init=False, repr=False)

    def add_node(self, node: Node) -> Node:
        """Add ``node`` unless a node with its id exists; return the one kept."""
        return self.nodes.setdefault(node.id, node)

    def add_edge(self, edge: Edge) -> None:
        """Add ``edge``, giving it a unique id if another edge already has it."""
        base, counter = edge.id, 2
        while edge.id in self._edge_ids:
            edge.id = f"{base}-{counter}"
            counter += 1
        self._edge_ids.add(edge.id)
        self.edges.append(edge)

    def placed_nodes(self) -> set[str]:
        """Return the ids of nodes that sit inside some region."""
        placed: set[str] = set()
        stack = list(self.regions)
        while stack:
            region = stack.pop()
            placed.update(region.nodes)
            stack.extend(region.regions)
        return placed

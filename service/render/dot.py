"""Write a topology model as DOT text: pure, and byte-for-byte repeatable.

Nothing here reads a clock, the environment or a file, and everything is
emitted in sorted model order, so the same model always gives the same text
and, through Graphviz, the same SVG.
"""

from __future__ import annotations

from collections.abc import Iterator

from service.errors import LimitExceededError
from service.limits import Limits
from service.model import Project
from service.render import styles
from service.render.build import build_graph
from service.render.graph import Edge, Graph, Node, Region
from service.render.labels import ELLIPSIS, quote, quote_trusted
from service.render.options import DiagramOptions

INDENT = "  "

#: Graphviz refuses a quoted string past 16384 bytes; escaping can make one
#: character five, so a tooltip is cut well below that.
TOOLTIP_LIMIT = 2_000


def render_dot(project: Project, options: DiagramOptions, limits: Limits) -> str:
    """Return the DOT text of the diagram of ``project`` drawn with ``options``.

    Raises LimitExceededError before any layout work when the diagram would
    have more nodes or edges than ``limits`` allow.
    """
    graph = build_graph(project, options)
    check_graph_limits(graph, limits)
    return "\n".join(_render_graph(graph)) + "\n"


def check_graph_limits(graph: Graph, limits: Limits) -> None:
    """Raise LimitExceededError when ``graph`` is too big to lay out safely."""
    if len(graph.nodes) > limits.max_diagram_nodes:
        raise LimitExceededError(
            f"The diagram would have {len(graph.nodes)} nodes, more than the limit of "
            f"{limits.max_diagram_nodes}; draw one service with its dependencies "
            "instead (the 'service' option).",
            limit="max_diagram_nodes",
        )
    if len(graph.edges) > limits.max_diagram_edges:
        raise LimitExceededError(
            f"The diagram would have {len(graph.edges)} edges, more than the limit of "
            f"{limits.max_diagram_edges}; turn off depends_on or volumes, or draw "
            "one service with its dependencies.",
            limit="max_diagram_edges",
        )


def _render_graph(graph: Graph) -> Iterator[str]:
    yield 'digraph "topology" {'
    yield from _render_defaults(graph)
    for region in graph.regions:
        yield from _render_region(region, graph, depth=1)
    placed = graph.placed_nodes()
    for node in graph.nodes.values():
        if node.id not in placed:
            yield INDENT + _render_node(node)
    for rank in graph.ranks:
        members = "; ".join([quote_trusted(node_id) for node_id in rank])
        yield INDENT + f'{{rank="same"; {members}}}'
    for edge in graph.edges:
        yield INDENT + _render_edge(edge)
    yield "}"


def _render_defaults(graph: Graph) -> Iterator[str]:
    font = quote_trusted(styles.FONT)
    graph_attrs = {
        "id": "topology",
        "rankdir": graph.direction,
        "fontname": styles.FONT,
        "fontsize": "12",
        "labelloc": "t",
        "labeljust": "l",
        "nodesep": "0.3",
        "ranksep": "0.9",
        "newrank": "true",
        "pad": "0.3",
        "bgcolor": "#ffffff",
        "tooltip": "Compose topology",
    }
    yield INDENT + "graph [" + _attrs(graph_attrs) + f", label=<{graph.title}>]"
    ink = quote_trusted(styles.INK)
    yield INDENT + (
        f'node [fontname={font}, fontsize=11, fontcolor={ink}, margin="0.12,0.06"]'
    )
    yield INDENT + f"edge [fontname={font}, fontsize=10, arrowsize=0.7]"


def _render_region(region: Region, graph: Graph, depth: int) -> Iterator[str]:
    pad = INDENT * depth
    yield pad + f"subgraph {quote_trusted('cluster_' + region.id)} {{"
    attrs = _attrs_with_id(quote_trusted(region.id), region.attrs)
    yield (
        f"{pad}{INDENT}graph [{attrs}, "
        f"tooltip={_tooltip(region.tooltip)}, label=<{region.label}>]"
    )
    for child in region.regions:
        yield from _render_region(child, graph, depth + 1)
    for node_id in region.nodes:
        yield pad + INDENT + _render_node(graph.nodes[node_id])
    yield pad + "}"


def _render_node(node: Node) -> str:
    name = quote_trusted(node.id)
    return (
        f"{name} [{_attrs_with_id(name, node.attrs)}, "
        f"tooltip={_tooltip(node.tooltip)}, label=<{node.label}>]"
    )


def _render_edge(edge: Edge) -> str:
    attrs = _attrs_with_id(quote_trusted(edge.id), edge.attrs)
    text = f"{attrs}, tooltip={_tooltip(edge.tooltip)}"
    if edge.label is not None:
        text += f", label=<{edge.label}>"
    return f"{quote_trusted(edge.tail)} -> {quote_trusted(edge.head)} [{text}]"


def _attrs_with_id(quoted_id: str, attrs: dict[str, str]) -> str:
    """Return the id and then ``attrs``, without merging them into a new dict first."""
    if not attrs:
        return f"id={quoted_id}"
    return f"id={quoted_id}, {_attrs(attrs)}"


def _attrs(attrs: dict[str, str]) -> str:
    # Our own values (colours, styles, ids) hold no quote or backslash: one
    # look at all of them replaces a call per value. Lists, not generators:
    # ``join`` takes a list whole instead of resuming a generator per item.
    values = "".join(attrs.values())
    if '"' in values or "\\" in values:
        return ", ".join(
            [f"{key}={quote_trusted(value)}" for key, value in attrs.items()]
        )
    return ", ".join([f'{key}="{value}"' for key, value in attrs.items()])


def _tooltip(text: str) -> str:
    # Names are only bounded by the body size; a tooltip holding a long one
    # must still be a string Graphviz accepts.
    if len(text) > TOOLTIP_LIMIT:
        text = text[: TOOLTIP_LIMIT - 1] + ELLIPSIS
    return quote(text)

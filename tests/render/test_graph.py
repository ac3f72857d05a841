"""The graph records: edges keep unique ids however often one is reused."""

from __future__ import annotations

from service.render.graph import Edge, Graph
from service.render.labels import Html


def _edge(edge_id: str) -> Edge:
    return Edge(tail="a", head="b", id=edge_id, tooltip="")


def test_add_edge_reused_id_gets_counted_suffix() -> None:
    graph = Graph(title=Html(""), direction="LR")

    for _ in range(3):
        graph.add_edge(_edge("edge-a"))

    assert [edge.id for edge in graph.edges] == ["edge-a", "edge-a-2", "edge-a-3"]


def test_add_edge_suffix_already_taken_moves_to_next_free() -> None:
    graph = Graph(title=Html(""), direction="LR")

    for edge_id in ("edge-a-2", "edge-a", "edge-a", "edge-a-3"):
        graph.add_edge(_edge(edge_id))

    assert [edge.id for edge in graph.edges] == [
        "edge-a-2",
        "edge-a",
        "edge-a-3",
        "edge-a-3-2",
    ]

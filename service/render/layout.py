"""Spread a big stack over several columns of services, in depends_on order.

Left to itself, Graphviz puts every service of a left-to-right diagram in
one rank, so thirty services make one column thousands of pixels tall. Here
the services are ordered by how deep they sit in the ``depends_on`` graph
(the services nothing else needs first, the ones everything needs last) and
cut into a few columns of similar height, preferring cuts between depth
layers. A ``depends_on`` arrow then mostly runs from one column into the
next instead of arcing along a single column, and each column's images sit
just before it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from service.model import Service

#: Below this many services one column reads best.
COLUMNS_FROM = 10

#: Estimated label rows per column of the wanted aspect ratio: a column of
#: images and services is about 700 px wide and a row about 18 px tall, so
#: columns of this many rows make the drawing roughly as wide as it is tall.
ROWS_PER_COLUMN = 20

#: A layer-aligned cut may leave a column this much taller than an even split.
UNEVEN_TOLERANCE = 1.3


def count_columns(service_count: int, total_rows: int) -> int:
    """Return how many columns ``service_count`` services of ``total_rows`` need."""
    if service_count < COLUMNS_FROM:
        return 1
    wanted = round(math.sqrt(total_rows / ROWS_PER_COLUMN))
    return max(1, min(wanted, service_count // 4))


def depth_layers(services: Sequence[Service]) -> list[list[str]]:
    """Return service names grouped by depends_on depth, the deepest users first.

    A service's depth is one more than the deepest service it needs; one
    that needs nothing drawn has depth 1. Names within a layer are sorted.
    """
    needs = {service.name: set(needed_services(service)) for service in services}
    depths: dict[str, int] = {}
    for name in sorted(needs):
        _depth(name, needs, depths, set())
    by_depth: dict[int, list[str]] = {}
    for name in sorted(needs):
        by_depth.setdefault(depths[name], []).append(name)
    return [by_depth[depth] for depth in sorted(by_depth, reverse=True)]


def needed_services(service: Service) -> Iterable[str]:
    """Yield the services ``service`` needs: its depends_on and its network owner.

    A service on ``network_mode: service:x`` cannot start without x, so for
    the layout and the focus filter x is a dependency like any other.
    """
    yield from (dependency.service for dependency in service.depends_on)
    mode = service.network_mode or ""
    if mode.startswith("service:"):
        yield mode.removeprefix("service:")


def _depth(
    name: str, needs: Mapping[str, set[str]], depths: dict[str, int], path: set[str]
) -> int:
    if name in depths:
        return depths[name]
    path.add(name)
    # A cycle cannot come from a valid file, but a depth must still exist.
    below = [
        _depth(other, needs, depths, path)
        for other in sorted(needs[name])
        if other in needs and other not in path
    ]
    path.discard(name)
    depths[name] = 1 + max(below, default=0)
    return depths[name]


def split_columns(
    layers: Sequence[Sequence[str]], weights: Mapping[str, int], columns: int
) -> list[list[str]]:
    """Return the names cut into at most ``columns`` columns of similar weight.

    Cuts fall between depth layers when that keeps the tallest column within
    ``UNEVEN_TOLERANCE`` of an even split; otherwise anywhere in the order.
    """
    total = sum(weights[name] for layer in layers for name in layer)
    even = total / max(columns, 1)
    by_layer = _fill(layers, weights, columns)
    if _tallest(by_layer, weights) <= even * UNEVEN_TOLERANCE:
        return by_layer
    singles = [[name] for layer in layers for name in layer]
    return _fill(singles, weights, columns)


def _fill(
    blocks: Sequence[Sequence[str]], weights: Mapping[str, int], columns: int
) -> list[list[str]]:
    """Pack ``blocks`` in order into ``columns`` columns, the tallest kept short.

    A binary search finds the smallest capacity for which greedy packing
    (which is optimal for contiguous blocks) needs no more columns; a block
    heavier than the capacity is split into its names.
    """
    sizes = [sum(weights[name] for name in block) for block in blocks]
    low = max((weights[name] for block in blocks for name in block), default=0)
    high = max(sum(sizes), low)
    while low < high:
        middle = (low + high) // 2
        if len(_pack(blocks, weights, middle)) <= columns:
            high = middle
        else:
            low = middle + 1
    return _pack(blocks, weights, low)


def _pack(
    blocks: Sequence[Sequence[str]], weights: Mapping[str, int], capacity: int
) -> list[list[str]]:
    packed: list[list[str]] = [[]]
    height = 0
    for block in blocks:
        size = sum(weights[name] for name in block)
        pieces = [list(block)] if size <= capacity else [[name] for name in block]
        for piece in pieces:
            piece_size = sum(weights[name] for name in piece)
            if packed[-1] and height + piece_size > capacity:
                packed.append([])
                height = 0
            packed[-1].extend(piece)
            height += piece_size
    return packed


def _tallest(columns: Sequence[Sequence[str]], weights: Mapping[str, int]) -> int:
    return max((sum(weights[name] for name in column) for column in columns), default=0)

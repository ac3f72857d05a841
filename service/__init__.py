"""compose-topology: see what a Docker Compose project will actually run.

The package is four rooms with one-way doors::

    web  ->  render  ->  model  <-  compose

``compose`` reads Compose files (text in, no I/O of its own) into the topology
``model``; ``render`` draws a model with Graphviz; ``web`` and ``cli`` are thin
layers that gather input, call the other two and answer.
"""

from __future__ import annotations

__version__ = "0.1.0"

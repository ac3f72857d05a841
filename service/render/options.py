"""What a reader can switch on and off in the diagram.

The field names are shared on purpose: they are also the web's query
parameters and, with dashes, the CLI's flags, so one word means one layer
everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias, get_args

from service.errors import InputError

Direction: TypeAlias = Literal["LR", "TB"]

DIRECTIONS: tuple[str, ...] = get_args(Direction)


@dataclass(frozen=True)
class DiagramOptions:
    """The layers and focus of one diagram; the defaults suit a first look."""

    overrides: bool = True
    networks: bool = True
    depends_on: bool = True
    volumes: bool = False
    legend: bool = True
    direction: Direction = "LR"
    service: str | None = None
    show_values: bool = False

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise InputError(
                f"Direction {self.direction!r} is not supported; use 'LR' or 'TB'.",
                key="direction",
            )
        if self.service is not None and not self.service:
            raise InputError(
                "The focus service name is empty; give a service name or none.",
                key="service",
            )

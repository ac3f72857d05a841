from __future__ import annotations

from pathlib import Path

from service.example import EXAMPLE_COMPOSE

DOCS_EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "example" / "compose.yaml"


def test_docs_example_without_comments_is_the_page_example() -> None:
    lines = DOCS_EXAMPLE.read_text().splitlines(keepends=True)

    body = "".join(line for line in lines if not line.startswith("#"))

    assert body == EXAMPLE_COMPOSE

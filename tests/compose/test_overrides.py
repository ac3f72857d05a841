from __future__ import annotations

from typing import Any

import pytest

from service.compose.overrides import split_command
from service.errors import ComposeValidationError, SourceLocation

HERE = SourceLocation("compose.yaml", 4, 5)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (["run", 1], ("run", "1")),
        ("npm ci && npm start", ("npm", "ci")),
        ("echo 'a b'", ("echo", "a b")),
    ],
    ids=["unset", "list", "stops-at-operator", "quoted"],
)
def test_split_command_as_compose_splits(
    value: Any, expected: tuple[str, ...] | None
) -> None:
    assert split_command(value, service="web", key="command", location=HERE) == (
        expected
    )


def test_split_command_unclosed_quote_raises_with_place() -> None:
    with pytest.raises(ComposeValidationError) as caught:
        split_command("echo 'open", service="web", key="entrypoint", location=HERE)

    error = caught.value
    assert (error.service, error.key, error.location) == ("web", "entrypoint", HERE)
    assert "'web'" in error.message and "entrypoint" in error.message

from __future__ import annotations

import pytest

from service.compose.dockerlex import Instruction, split_instructions
from service.errors import ComposeValidationError, SourceLocation


def test_split_instructions_joined_lines_keep_first_line() -> None:
    text = "FROM a\n\n# note\nRUN one \\\n# inside\n  two\nUSER u\n"

    instructions, escape = split_instructions(text, "Dockerfile")

    assert escape == "\\"
    assert instructions == [
        Instruction("FROM", "a", 1),
        Instruction("RUN", "one   two", 4),
        Instruction("USER", "u", 7),
    ]


def test_split_instructions_escape_directive_changes_continuation() -> None:
    text = "# escape=`\nFROM a\nRUN x `\n  y\n"

    instructions, escape = split_instructions(text, "Dockerfile")

    assert escape == "`"
    assert instructions[-1] == Instruction("RUN", "x   y", 3)


def test_split_instructions_directive_after_instruction_is_comment() -> None:
    instructions, escape = split_instructions("FROM a\n# escape=`\n", "Dockerfile")

    assert escape == "\\"
    assert instructions == [Instruction("FROM", "a", 1)]


def test_split_instructions_heredoc_body_is_skipped() -> None:
    text = "FROM a\nRUN <<EOF\nUSER inside\nEOF\nUSER after\n"

    instructions, _ = split_instructions(text, "Dockerfile")

    assert [i.keyword for i in instructions] == ["FROM", "RUN", "USER"]
    assert instructions[-1] == Instruction("USER", "after", 5)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("# escape=x\nFROM a\n", 1, "escape directive"),
        ("# escape=`\n# escape=`\nFROM a\n", 2, "given twice"),
        ("FROM a\nBOGUS x\n", 2, "unknown instruction"),
        ("FROM a\nRUN <<EOF\nx\n", 2, "never closed"),
    ],
    ids=["bad-escape", "repeated-directive", "unknown-keyword", "open-heredoc"],
)
def test_split_instructions_malformed_raises_with_line(
    text: str, line: int, words: str
) -> None:
    with pytest.raises(ComposeValidationError) as caught:
        split_instructions(text, "Dockerfile")

    assert caught.value.location == SourceLocation("Dockerfile", line)
    assert words in caught.value.message

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.compose.dotenv import parse_dotenv
from service.errors import (
    ComposeTopologyError,
    ComposeValidationError,
    InterpolationError,
    SourceLocation,
)
from tests.compose.reference import find_binary

SHELL = {"K": "fromshell", "A": "shellA"}

# Each row: .env text, expected variables, id. The shell has K and A set.
VALID = [
    ("A=1\n", {"A": "1"}, "simple"),
    ("# comment\n\n  # indented comment\nB=2\n", {"B": "2"}, "comments-and-blanks"),
    ("export B=2\n", {"B": "2"}, "export-prefix"),
    ("export  B=2\n", {"B": "2"}, "export-extra-space"),
    ("C = spaced\n", {"C": "spaced"}, "spaces-around-equals"),
    ("T: colon\n", {"T": "colon"}, "colon-separator"),
    ("D=unquoted value # inline comment\n", {"D": "unquoted value"}, "inline-comment"),
    ("E=value#nohash\n", {"E": "value#nohash"}, "hash-without-space"),
    ("X=a\t#c\n", {"X": "a\t#c"}, "tab-before-hash-kept"),
    ("AE=#startshash\n", {"AE": "#startshash"}, "value-starts-with-hash"),
    ("AF= #space then hash\n", {"AF": "#space then hash"}, "space-then-hash-start"),
    ("U=  lead and trail  \n", {"U": "lead and trail"}, "unquoted-trimmed"),
    ("F='single $A \\n literal'\n", {"F": "single $A \\n literal"}, "single-literal"),
    ('G="x $A \\n \\t \\" \\\\"\n', {"G": 'x shellA \n \t " \\'}, "double-escapes"),
    ('A1="\\x41|\\q|\\$"\n', {"A1": "\\x41|\\q|$"}, "unknown-escapes-kept"),
    ('H="multi\nline"\n', {"H": "multi\nline"}, "double-multiline"),
    ("I='multi\nsingle'\n", {"I": "multi\nsingle"}, "single-multiline"),
    ('V="a\n# not comment\nb"\n', {"V": "a\n# not comment\nb"}, "hash-inside-quotes"),
    ("J=\n", {"J": ""}, "empty-value"),
    ("K\n", {"K": "fromshell"}, "bare-name-from-shell"),
    ("NOPE\n", {}, "bare-name-unset-left-out"),
    ("L=${A}-${UNSET:-def}\n", {"L": "shellA-def"}, "substitution"),
    ("B=2\nM=$A$B\n", {"B": "2", "M": "shellA2"}, "earlier-variable"),
    ("A=file\nX=$A\n", {"A": "file", "X": "shellA"}, "shell-wins-over-file"),
    ("O='${A}'\n", {"O": "${A}"}, "single-not-substituted"),
    ('AA="a\\$b"\n', {"AA": "a$b"}, "escaped-dollar"),
    ("AB=a\\$K\n", {"AB": "a\\fromshell"}, "unquoted-backslash-literal"),
    ("A2=x$$y\n", {"A2": "x$y"}, "double-dollar"),
    ("P=a=b=c\n", {"P": "a=b=c"}, "equals-in-value"),
    ("V:=x\n", {"V": "=x"}, "colon-then-equals"),
    ("W=`back tick`\n", {"W": "`back tick`"}, "backticks-kept"),
    (
        "X.Y=dotted\nZ-1=dash\nA[0]=x\n",
        {"X.Y": "dotted", "Z-1": "dash", "A[0]": "x"},
        "punct",
    ),
    ("A3=dup1\nA3=dup2\n", {"A3": "dup2"}, "later-wins"),
    ("A4=it's\n", {"A4": "it's"}, "apostrophe-unquoted"),
    ('A5="a"#b\n', {"A5": "a"}, "comment-after-quote"),
    ('V="q" W=2\n', {"V": "q", "W": "2"}, "statement-after-quote"),
    ("V='q'W=2\n", {"V": "q", "W": "2"}, "statement-glued-to-quote"),
    ('V="a\\\\" W=3\n', {"V": "a\\", "W": "3"}, "escaped-backslash-before-quote"),
    ('B7=  "  spaced quote  "  \n', {"B7": "  spaced quote  "}, "quoted-keeps-spaces"),
    ("C=1\r\nD=2\r\n", {"C": "1", "D": "2"}, "crlf"),
    ("\u00e4=1\n", {"\u00e4": "1"}, "unicode-name"),
    ("B9=a #c #d\n", {"B9": "a"}, "two-comments"),
    ("A=1", {"A": "1"}, "no-final-newline"),
    ("", {}, "empty-file"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [row[:2] for row in VALID],
    ids=[row[2] for row in VALID],
)
def test_parse_dotenv_compose_rules_give_values(
    text: str, expected: dict[str, str]
) -> None:
    assert parse_dotenv(text, ".env", SHELL.get) == expected


# Each row: .env text, line the error names, words in the message, id.
INVALID = [
    ("NOPE # c\n", 1, '"#"', "comment-after-bare-name"),
    ('OK=1\nQ="unterminated\n', 2, "never closed", "unterminated-double"),
    ("Q='unterminated\n", 1, "never closed", "unterminated-single"),
    ("V='a\\'\n", 1, "never closed", "escaped-single-quote"),
    ("A B=1\n", 1, "space", "space-in-name"),
    ("A;b=1\n", 1, '";"', "semicolon-in-name"),
    ('X="a""b"\n', 1, "variable name", "two-quoted-strings"),
]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [row[:3] for row in INVALID],
    ids=[row[3] for row in INVALID],
)
def test_parse_dotenv_malformed_raises_with_line(
    text: str, line: int, words: str
) -> None:
    with pytest.raises(ComposeValidationError) as caught:
        parse_dotenv(text, "app.env", SHELL.get)

    assert caught.value.location == SourceLocation("app.env", line)
    assert words in caught.value.message


@pytest.mark.parametrize(
    "text",
    ['B3="${A:-x"\n', "X=${NOPE?required}\n"],
    ids=["invalid-template", "required-variable"],
)
def test_parse_dotenv_bad_reference_raises_interpolation_error(text: str) -> None:
    with pytest.raises(InterpolationError) as caught:
        parse_dotenv(text, "app.env", SHELL.get)

    assert caught.value.location == SourceLocation("app.env", 1)


def test_parse_dotenv_collects_unset_names() -> None:
    unset: list[str] = []

    values = parse_dotenv("X=${NOPE}\nY=$NOPE$OTHER\n", ".env", SHELL.get, unset=unset)

    assert values == {"X": "", "Y": ""}
    assert unset == ["NOPE", "OTHER"]


def test_parse_dotenv_without_lookup_uses_file_only() -> None:
    assert parse_dotenv("A=1\nB=$A\nK\n", ".env") == {"A": "1", "B": "1"}


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("AB=:#'\"\\$ {}\n\t-_.;x"))))
def test_parse_dotenv_any_text_raises_only_our_errors(text: str) -> None:
    try:
        values = parse_dotenv(text, ".env", SHELL.get)
    except ComposeTopologyError:
        return
    assert all(isinstance(value, str) for value in values.values())


# --- against the reference ---------------------------------------------------


def reference_env_file(text: str) -> tuple[int, dict[str, str] | None]:
    """Return what Compose reads from ``text`` used as a service's env_file."""
    binary = find_binary()
    if binary is None:
        pytest.skip("The Docker Compose v2 binary is not installed.")
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "app.env").write_text(text, encoding="utf-8")
        Path(folder, "compose.yaml").write_text(
            "services:\n  a:\n    image: x\n    env_file: app.env\n", encoding="utf-8"
        )
        completed = subprocess.run(
            [str(binary), "-f", "compose.yaml", "config", "--format", "json"],
            cwd=folder,
            env={**SHELL, "PATH": "/usr/bin:/bin", "HOME": folder},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    if completed.returncode != 0:
        return completed.returncode, None
    environment = json.loads(completed.stdout)["services"]["a"].get("environment")
    # ``config`` writes every "$" as "$$" so its output can be read again.
    values = {k: (v or "").replace("$$", "$") for k, v in (environment or {}).items()}
    return 0, values


@pytest.mark.reference
@pytest.mark.parametrize(
    "text",
    [row[0] for row in VALID if row[0]],
    ids=[row[2] for row in VALID if row[0]],
)
def test_parse_dotenv_matches_reference(text: str) -> None:
    code, reference = reference_env_file(text)

    assert code == 0
    assert parse_dotenv(text, "app.env", SHELL.get) == reference


@pytest.mark.reference
@pytest.mark.parametrize(
    "text", [row[0] for row in INVALID], ids=[row[3] for row in INVALID]
)
def test_parse_dotenv_rejects_what_reference_rejects(text: str) -> None:
    code, _ = reference_env_file(text)

    assert code != 0

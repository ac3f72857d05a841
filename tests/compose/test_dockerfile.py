from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.compose.dockerfile import parse_dockerfile, parse_exec_form
from service.errors import ComposeTopologyError, ComposeValidationError, SourceLocation


def defaults(text: str, **options: Any) -> Any:
    return parse_dockerfile(text, "Dockerfile", **options)


# Each row: Dockerfile, attribute, expected value, id.
CASES = [
    ('FROM a\nCMD ["run", "x"]\n', "cmd", ("run", "x"), "exec-cmd"),
    ("FROM a\nCMD run x\n", "cmd", ("/bin/sh", "-c", "run x"), "shell-cmd"),
    (
        "FROM a\nCMD [not json\n",
        "cmd",
        ("/bin/sh", "-c", "[not json"),
        "bad-json-is-shell",
    ),
    ("FROM a\nCMD []\n", "cmd", (), "empty-exec-cmd"),
    ('FROM a\nENTRYPOINT ["/e"]\n', "entrypoint", ("/e",), "exec-entrypoint"),
    (
        'FROM a\nSHELL ["/bin/bash", "-lc"]\nCMD run\n',
        "cmd",
        ("/bin/bash", "-lc", "run"),
        "custom-shell",
    ),
    ("FROM a\nCMD x\nENTRYPOINT e\n", "cmd", ("/bin/sh", "-c", "x"), "own-cmd-kept"),
    ("FROM a AS b\nCMD x\nFROM b\nENTRYPOINT e\n", "cmd", None, "inherited-cmd-reset"),
    ("FROM a AS b\nCMD x\nFROM b\n", "cmd", ("/bin/sh", "-c", "x"), "cmd-inherited"),
    ('FROM a\nENV A=1 B="two words"\n', "env", {"A": "1", "B": "two words"}, "env"),
    ("FROM a\nENV A hello  world\n", "env", {"A": "hello  world"}, "legacy-env"),
    ("FROM a\nENV A=1\nENV B=$A-${A}\n", "env", {"A": "1", "B": "1-1"}, "env-subst"),
    ("FROM a\nENV A=1 B=$A\n", "env", {"A": "1", "B": ""}, "same-line-uses-before"),
    ("FROM a\nENV A='$x' B=\\$y\n", "env", {"A": "$x", "B": "$y"}, "env-no-subst"),
    ("FROM a\nARG V=3\nENV A=$V\n", "env", {"A": "3"}, "arg-default"),
    ("FROM a\nARG V\nENV A=${V:-none}\n", "env", {"A": "none"}, "arg-unset"),
    ("ARG V=g\nFROM a\nENV A=${V:-none}\n", "env", {"A": "none"}, "global-arg-hidden"),
    ("ARG V=g\nFROM a\nARG V\nENV A=$V\n", "env", {"A": "g"}, "global-arg-redeclared"),
    (
        "FROM a\nARG V=1\nENV V=2\nENV A=$V\n",
        "env",
        {"V": "2", "A": "2"},
        "env-over-arg",
    ),
    ("FROM a\nWORKDIR /app\nWORKDIR src\n", "workdir", "/app/src", "relative-workdir"),
    ("FROM a\nWORKDIR src\n", "workdir", "/src", "relative-from-root"),
    ("FROM a\nENV D=/srv\nWORKDIR $D/x\n", "workdir", "/srv/x", "workdir-subst"),
    ("FROM a\nWORKDIR /a/../b/\n", "workdir", "/b", "workdir-cleaned"),
    ("FROM a\nUSER app:grp\n", "user", "app:grp", "user"),
    ("FROM a\nARG U=1000\nUSER $U\n", "user", "1000", "user-subst"),
    (
        "FROM a\nEXPOSE 80 53/UDP 8000-8010\n",
        "expose",
        ("80/tcp", "53/udp", "8000-8010/tcp"),
        "expose",
    ),
    ("FROM a\nEXPOSE 80\nEXPOSE 80/tcp\n", "expose", ("80/tcp",), "expose-unique"),
    ("ARG B=python:3\nFROM $B\n", "base_image", "python:3", "from-global-arg"),
    ("FROM a AS b\nFROM b AS c\nFROM c\n", "base_image", "a", "base-through-stages"),
    ("FROM --platform=linux/amd64 a AS b\n", "base_image", "a", "from-platform-flag"),
    ("from a\ncmd x\n", "cmd", ("/bin/sh", "-c", "x"), "lowercase-keywords"),
    (
        "FROM a\nCMD echo \\\n  hi\n",
        "cmd",
        ("/bin/sh", "-c", "echo   hi"),
        "continuation",
    ),
    (
        "FROM a\nCMD echo \\\n# comment inside\n\n  hi\n",
        "cmd",
        ("/bin/sh", "-c", "echo   hi"),
        "continuation-skips-comments",
    ),
    (
        "# escape=`\nFROM a\nCMD echo `\n hi\n",
        "cmd",
        ("/bin/sh", "-c", "echo  hi"),
        "bt",
    ),
    ("# escape=`\nFROM a\nWORKDIR C:\\app\n", "workdir", "/C:\\app", "bt-backslash"),
    (
        "FROM a\nRUN <<EOF\nCMD inside heredoc\nEOF\nCMD after\n",
        "cmd",
        ("/bin/sh", "-c", "after"),
        "heredoc-skipped",
    ),
    (
        "FROM a\nRUN <<-'X' cat <<Y\n\tCMD no\n\tX\nCMD no\nY\nUSER u\n",
        "user",
        "u",
        "two-heredocs",
    ),
    (
        "FROM a\nONBUILD RUN x\nLABEL a=b\nVOLUME /v\nHEALTHCHECK NONE\n",
        "cmd",
        None,
        "ign",
    ),
    ("\ufeffFROM a\nUSER u\n", "user", "u", "byte-order-mark"),
    ("FROM a\r\nUSER u\r\n", "user", "u", "crlf"),
]


@pytest.mark.parametrize(
    ("text", "attribute", "expected"),
    [row[:3] for row in CASES],
    ids=[row[3] for row in CASES],
)
def test_parse_dockerfile_docker_rules_give_defaults(
    text: str, attribute: str, expected: Any
) -> None:
    assert getattr(defaults(text), attribute) == expected


def test_parse_dockerfile_target_picks_stage() -> None:
    text = "FROM a AS Build\nCMD build\nFROM b\nCMD run\n"

    picked = defaults(text, target="build")

    assert picked.cmd == ("/bin/sh", "-c", "build")
    assert picked.base_image == "a"
    assert defaults(text).cmd == ("/bin/sh", "-c", "run")


def test_parse_dockerfile_build_args_override_defaults() -> None:
    text = "ARG BASE=a\nFROM $BASE\nARG PORT=80\nEXPOSE $PORT\n"

    picked = defaults(text, build_args={"BASE": "b", "PORT": "9000", "OTHER": "x"})

    assert picked.base_image == "b"
    assert picked.expose == ("9000/tcp",)
    assert picked.dockerfile == "Dockerfile"


def test_parse_dockerfile_inherits_env_from_stage() -> None:
    text = "FROM a AS base\nENV A=1\nWORKDIR /w\nFROM base\nENV B=2\n"

    picked = defaults(text)

    assert picked.env == {"A": "1", "B": "2"}
    assert picked.workdir == "/w"


# Each row: Dockerfile, line of the error, words, id.
INVALID = [
    ("", None, "no instructions", "empty"),
    ("# only a comment\n", None, "no instructions", "comment-only"),
    ("CMD x\n", 1, "before the first FROM", "no-from"),
    ("FROM a\nFOO bar\n", 2, '"FOO"', "unknown-instruction"),
    ("FROM a b c d\n", 1, "AS name", "bad-from"),
    ("FROM\n", 1, "AS name", "empty-from"),
    ("FROM a\nENV A\n", 2, "needs a value", "env-without-value"),
    ("FROM a\nENV A=1 B\n", 2, "NAME=value", "env-mixed"),
    ("FROM a\nENV =1\n", 2, "NAME=value", "env-blank-name"),
    ('FROM a\nENV A="open\n', 2, "not closed", "env-open-quote"),
    ("FROM a\nENV A=${B\n", 2, '"}"', "env-open-brace"),
    ("FROM a\nENV A=${B:?needed}\n", 2, "needed", "env-required"),
    ("FROM a\nEXPOSE http\n", 2, '"http"', "expose-word"),
    ("FROM a\nSHELL /bin/bash\n", 2, "JSON", "shell-not-json"),
    ("FROM a\nWORKDIR\n", 2, "path", "empty-workdir"),
    ("FROM a\nUSER\n", 2, "user", "empty-user"),
    ("FROM a\nCMD\n", 2, "command", "empty-cmd"),
    ("FROM a\nRUN <<EOF\nx\n", 2, "never closed", "open-heredoc"),
    ("# escape=x\nFROM a\n", 1, "escape", "bad-escape"),
    ("# escape=\\\n# escape=`\nFROM a\n", 2, "twice", "repeated-directive"),
]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [row[:3] for row in INVALID],
    ids=[row[3] for row in INVALID],
)
def test_parse_dockerfile_malformed_raises_with_line(
    text: str, line: int | None, words: str
) -> None:
    with pytest.raises(ComposeValidationError) as caught:
        defaults(text)

    assert caught.value.location == SourceLocation("Dockerfile", line)
    assert words in caught.value.message


def test_parse_dockerfile_unknown_target_names_stages() -> None:
    with pytest.raises(ComposeValidationError) as caught:
        defaults("FROM a AS one\nFROM b AS two\n", target="three")

    assert '"three"' in caught.value.message
    assert "one, two" in caught.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('["a", "b"]', ("a", "b")),
        ("[]", ()),
        ('["a", 1]', None),
        ('{"a": 1}', None),
        ("a b", None),
    ],
    ids=["list", "empty", "non-string", "object", "shell"],
)
def test_parse_exec_form_json_lists_only(
    text: str, expected: tuple[str, ...] | None
) -> None:
    assert parse_exec_form(text) == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("FROMCMDENVARGa =$\\{}\"'[]#<\n\t`:-"))))
def test_parse_dockerfile_any_text_raises_only_our_errors(text: str) -> None:
    try:
        parse_dockerfile(text, "Dockerfile")
    except ComposeTopologyError:
        pass

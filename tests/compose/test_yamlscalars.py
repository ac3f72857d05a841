from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import pytest

from service.compose.yamlload import load_yaml
from service.compose.yamlscalars import (
    Timestamp,
    format_go_float,
    resolve_plain,
    resolve_tagged,
)
from service.limits import Limits
from tests.compose.reference import reference_config

# --- plain scalars ------------------------------------------------------------

PLAIN_SCALARS = [
    ("22:22", "22:22", "sexagesimal-stays-string"),
    ("yes", "yes", "yes-stays-string"),
    ("no", "no", "no-stays-string"),
    ("on", "on", "on-stays-string"),
    ("off", "off", "off-stays-string"),
    ("y", "y", "y-stays-string"),
    ("true", True, "true"),
    ("True", True, "title-true"),
    ("TRUE", True, "upper-true"),
    ("tRUE", "tRUE", "mixed-case-true-is-string"),
    ("false", False, "false"),
    ("~", None, "tilde-null"),
    ("null", None, "null"),
    ("Null", None, "title-null"),
    ("NULL", None, "upper-null"),
    ("0755", 493, "legacy-octal"),
    ("-0755", -493, "negative-legacy-octal"),
    ("012", 10, "legacy-octal-012"),
    ("007", 7, "legacy-octal-007"),
    ("08", 8.0, "invalid-octal-becomes-float"),
    ("0o17", 15, "octal-0o"),
    ("0O17", 15, "octal-upper-0O"),
    ("0x1F", 31, "hex"),
    ("+0x1F", 31, "signed-hex"),
    ("0x_1F", 31, "hex-with-underscore"),
    ("0b101", 5, "binary"),
    ("-0b11", -3, "negative-binary"),
    ("0x", "0x", "bare-hex-prefix-is-string"),
    ("0b2", "0b2", "bad-binary-is-string"),
    ("1_000", 1000, "underscores"),
    ("1__0", 10, "double-underscore"),
    ("1_", 1, "trailing-underscore"),
    ("_1", "_1", "leading-underscore-is-string"),
    ("+12", 12, "plus-sign"),
    ("9007199254740993", 9007199254740993, "beyond-float-precision"),
    ("18446744073709551615", 18446744073709551615, "uint64-max"),
    ("1e3", 1000.0, "exponent"),
    ("1.5e+3", 1500.0, "signed-exponent"),
    ("1e", "1e", "bare-exponent-is-string"),
    ("3.10", 3.1, "float"),
    ("1.", 1.0, "trailing-dot"),
    (".5", 0.5, "leading-dot"),
    ("-.5", -0.5, "negative-leading-dot"),
    (".0", 0.0, "dot-zero"),
    (".5.", ".5.", "two-dots-is-string"),
    (".", ".", "lone-dot-is-string"),
    ("-", "-", "lone-minus-is-string"),
    ("1_000.5", 1000.5, "float-with-underscore"),
    ("2001-12-14", "2001-12-14T00:00:00Z", "date"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14T21:59:43.1-05:00", "datetime"),
    ("2001-12-14 21:59:43.10", "2001-12-14T21:59:43.1Z", "space-datetime"),
    ("2001-13-14", "2001-13-14", "impossible-date-is-string"),
    ("1.2.3", "1.2.3", "version-is-string"),
    ("8080/udp", "8080/udp", "port-protocol-is-string"),
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [case[:2] for case in PLAIN_SCALARS],
    ids=[case[2] for case in PLAIN_SCALARS],
)
def test_resolve_plain_go_yaml_rules_matches(text: str, expected: Any) -> None:
    resolved = resolve_plain(text)

    assert resolved == expected
    assert type(resolved) is type(expected) or isinstance(resolved, Timestamp)


def test_resolve_plain_date_is_timestamp() -> None:
    assert isinstance(resolve_plain("2001-12-14"), Timestamp)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(".inf", math.inf), ("-.Inf", -math.inf), ("+.INF", math.inf)],
    ids=["inf", "negative-inf", "plus-inf"],
)
def test_resolve_plain_infinity_is_float(text: str, expected: float) -> None:
    assert resolve_plain(text) == expected


def test_resolve_plain_nan_is_float() -> None:
    assert math.isnan(resolve_plain(".nan"))


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("0755", "tag:yaml.org,2002:str", "0755"),
        ("12", "tag:yaml.org,2002:float", 12.0),
        ("~", "tag:yaml.org,2002:null", None),
        ("aGk=", "tag:yaml.org,2002:binary", "hi"),
        ("yes", "!", "yes"),
        ("yes", "!local", "yes"),
        ("yes", None, "yes"),
    ],
    ids=["str", "int-as-float", "null", "binary", "non-specific", "local", "none"],
)
def test_resolve_tagged_known_tags_read_value(
    text: str, tag: str | None, expected: Any
) -> None:
    resolved = resolve_tagged(text, tag)

    assert resolved == expected
    assert type(resolved) is type(expected)


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("abc", "tag:yaml.org,2002:int"),
        ("1.5", "tag:yaml.org,2002:bool"),
        ("not base64!", "tag:yaml.org,2002:binary"),
    ],
    ids=["int", "bool", "binary"],
)
def test_resolve_tagged_value_not_fitting_tag_raises(text: str, tag: str) -> None:
    with pytest.raises(ValueError, match="!!"):
        resolve_tagged(text, tag)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1.0, "1"),
        (3.1, "3.1"),
        (100000.0, "100000"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (1e-05, "1e-05"),
        (0.0001, "0.0001"),
        (-0.0, "-0"),
        (1e20, "1e+20"),
        (math.inf, "+Inf"),
    ],
    ids=[
        "whole",
        "fraction",
        "below-exponent",
        "million",
        "long-mantissa",
        "small",
        "small-fixed",
        "negative-zero",
        "huge",
        "inf",
    ],
)
def test_format_go_float_matches_go(value: float, expected: str) -> None:
    assert format_go_float(value) == expected


# --- against the reference -------------------------------------------------------


def run_reference(text: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "compose.yaml").write_text(text, encoding="utf-8")
        return reference_config(Path(folder), "-f", "compose.yaml")


@pytest.mark.reference
def test_load_yaml_scalars_match_reference() -> None:
    # A lone "-" would start a block sequence here, so it is left out.
    finite = [case for case in PLAIN_SCALARS if case[0] != "-"]
    lines = [f"  k{n}: {text}" for n, (text, _, _) in enumerate(finite)]
    text = "services:\n  a:\n    image: x\nx-scalars:\n" + "\n".join(lines) + "\n"

    reference = run_reference(text)["x-scalars"]
    ours = load_yaml(text, "compose.yaml", Limits()).data["x-scalars"]

    assert ours == reference

"""Say what a YAML scalar means, by go-yaml v3's rules rather than PyYAML's.

PyYAML reads plain scalars by YAML 1.1 (``yes`` is true, ``22:22`` a
sexagesimal number); Compose reads them with go-yaml v3: YAML 1.2 core
booleans and nulls, Go's integer syntax once underscores are dropped
(``0755`` and ``0o755`` octal, ``0x1F`` hex, ``0b101`` binary), floats, and
dates or times, which come back as ``Timestamp`` so validation can tell them
from strings. A quoted or ``!!``-tagged scalar is read as its tag says.

Also here: ``format_go_float``, the text Go prints for a float, which Compose
uses where a number stands in for a string.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

#: The prefix of YAML's own ``!!`` tags once the parser expands them.
YAML_TAG = "tag:yaml.org,2002:"


class Timestamp(str):
    """A plain scalar that go-yaml resolves to a time, in Go's RFC 3339 text."""

    __slots__ = ()


_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_TRUES = frozenset({"true", "True", "TRUE"})
_FALSES = frozenset({"false", "False", "FALSE"})
_SPECIAL_FLOATS = {
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
    ".inf": math.inf,
    ".Inf": math.inf,
    ".INF": math.inf,
    "+.inf": math.inf,
    "+.Inf": math.inf,
    "+.INF": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    "-.INF": -math.inf,
}
_YAML_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(
    r"(?P<sign>[-+]?)(?:0[xX](?P<hex>[0-9a-fA-F]+)|0[bB](?P<bin>[01]+)"
    r"|0[oO](?P<oct>[0-7]+)|(?P<legacy>0[0-7]*)|(?P<dec>[1-9][0-9]*))"
)
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1
_TIMESTAMP = re.compile(
    r"(?P<y>[0-9]{4})-(?P<mo>[0-9]{1,2})-(?P<d>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<h>[0-9]{1,2}):(?P<mi>[0-9]{1,2}):(?P<s>[0-9]{1,2})"
    r"(?:[.,](?P<frac>[0-9]+))?"
    r"(?P<tz>Z|[-+][0-9]{2}:[0-9]{2})?)?"
)
_KNOWN_TAGS = frozenset({"str", "binary", "timestamp", "null", "bool", "int", "float"})


def resolve_plain(text: str) -> Any:
    """Resolve an untagged plain scalar as go-yaml v3 does.

    ``yes``/``no``/``on``/``off`` stay strings (YAML 1.2); ``22:22`` stays a
    string; Go's integer syntax applies after underscores are dropped, so
    ``0755`` is 493 and ``1_000`` is 1000.
    """
    if text in _NULLS:
        return None
    if text in _TRUES:
        return True
    if text in _FALSES:
        return False
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]

    first = text[0]
    if first == ".":
        parsed = _parse_float(text.replace("_", ""))
        return text if parsed is None else parsed
    if first.isdigit() or first in "+-":
        return _resolve_number_like(text)
    return text


def resolve_tagged(text: str, tag: str | None) -> Any:
    """Resolve a quoted or explicitly tagged scalar as go-yaml v3 does.

    Only YAML's own ``!!`` tags change the value; any other tag, and none,
    leaves the text as it is. Raises ``ValueError`` with a sentence for the
    reader when the text does not fit the ``!!`` tag it carries.
    """
    if tag is None or tag == "!" or not tag.startswith(YAML_TAG):
        return text
    name = tag[len(YAML_TAG) :]
    if name not in _KNOWN_TAGS or name == "str":
        return text
    if name == "binary":
        return _decode_binary(text)

    resolved = resolve_plain(text)
    if name == "timestamp" and isinstance(resolved, Timestamp):
        return resolved
    if name == "null" and resolved is None:
        return None
    if name == "bool" and isinstance(resolved, bool):
        return resolved
    if name == "int" and is_int(resolved):
        return resolved
    if name == "float" and (is_int(resolved) or isinstance(resolved, float)):
        return float(resolved)
    raise ValueError(
        f'The value "{text}" cannot be read as the !!{name} its tag asks for.'
    )


def is_int(value: Any) -> bool:
    """Say whether ``value`` is an integer (a bool, to Python an int, is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _decode_binary(text: str) -> str:
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
        return raw.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(
            "The !!binary value is not valid base64-encoded UTF-8 text."
        ) from exc


# --- numbers ----------------------------------------------------------------


def _resolve_number_like(text: str) -> Any:
    timestamp = _parse_timestamp(text)
    if timestamp is not None:
        return timestamp

    plain = text.replace("_", "")
    integer = _parse_go_int(plain)
    if integer is not None:
        return integer
    if _YAML_FLOAT.fullmatch(plain):
        parsed = _parse_float(plain)
        if parsed is not None:
            return parsed
    return text


def _parse_go_int(plain: str) -> int | None:
    match = _GO_INT.fullmatch(plain)
    if match is None:
        return None
    groups = match.groupdict()
    if groups["hex"] is not None:
        value = int(groups["hex"], 16)
    elif groups["bin"] is not None:
        value = int(groups["bin"], 2)
    elif groups["oct"] is not None:
        value = int(groups["oct"], 8)
    elif groups["legacy"] is not None:
        value = int(groups["legacy"], 8)
    else:
        value = int(groups["dec"])

    if groups["sign"] == "-":
        value = -value
    if _INT64[0] <= value <= _INT64[1]:
        return value
    if groups["sign"] == "" and value <= _UINT64_MAX:
        return value
    return None


def _parse_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def format_go_float(value: float) -> str:
    """Format a float as Go's ``%v`` does (``strconv`` 'g', shortest digits).

    Compose turns numbers into strings this way where a string is expected
    (a label ``1.0`` becomes ``"1"``, ``1e6`` becomes ``"1e+06"``).
    """
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"

    sign, digit_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(d) for d in digit_tuple)
    assert isinstance(exponent, int)
    point = len(digits) + exponent
    prefix = "-" if sign else ""
    if point - 1 < -4 or point - 1 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{prefix}{mantissa}e{point - 1:+03d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{prefix}{digits}{'0' * (point - len(digits))}"
    return f"{prefix}{digits[:point]}.{digits[point:]}"


# --- dates and times ----------------------------------------------------------


def _parse_timestamp(text: str) -> Timestamp | None:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    if parts["sep"] == " " and parts["tz"] is not None:
        return None
    if parts["sep"] in ("T", "t") and parts["tz"] is None:
        return None
    try:
        moment = _build_datetime(parts)
    except ValueError:
        return None
    return Timestamp(_format_rfc3339(moment, (parts["frac"] or "")[:9]))


def _build_datetime(parts: dict[str, str | None]) -> datetime:
    tz = UTC
    offset = parts["tz"]
    if offset not in (None, "Z"):
        assert offset is not None
        sign = -1 if offset[0] == "-" else 1
        hours, minutes = int(offset[1:3]), int(offset[4:6])
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    return datetime(
        int(parts["y"] or 0),
        int(parts["mo"] or 0),
        int(parts["d"] or 0),
        int(parts["h"] or 0),
        int(parts["mi"] or 0),
        int(parts["s"] or 0),
        tzinfo=tz,
    )


def _format_rfc3339(moment: datetime, fraction: str) -> str:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = fraction.rstrip("0")
    if fraction:
        text += "." + fraction
    offset = moment.utcoffset()
    if not offset:
        return text + "Z"
    total = int(offset.total_seconds()) // 60
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{text}{sign}{total // 60:02d}:{total % 60:02d}"

"""Stable, collision-free element ids for the nodes, edges and regions of a diagram.

The web page links SVG elements to table rows by these ids, so they are a
pure function of Compose names that any layer can compute. Names are
untrusted: the encoding keeps ASCII letters, digits, ``.`` and ``-`` as they
are and writes every other character, the underscore included, as
``_<hex>_``. Several names are joined with ``__`` (an empty escape, which
the encoding never produces), so two different name lists never share an id.

Names can be as long as the body limit allows, and an id is repeated in
the SVG, the page and its links, so an id past ``MAX_ID_LENGTH`` keeps its
first ``MAX_ID_LENGTH`` characters and ends in ``-`` and 32 hex digits of the
SHA-256 of the whole id. Such an id is exactly ``HASHED_ID_LENGTH`` long,
longer than any id kept whole, so a short name can never be spelled to equal
a long one's id; two long ids meet only if SHA-256 collides on 128 bits.
``static/tables.js`` computes the same ids for the page and must change
with this encoding.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal, TypeAlias

ElementKind: TypeAlias = Literal[
    "service", "image", "port", "volume", "network", "edge", "host", "legend"
]

#: Every character an id cannot hold as it is (all but ASCII letters, digits,
#: ``.`` and ``-``) but the underscore, which ``encode_name`` replaces first.
_ESCAPED = re.compile(r"[^a-zA-Z0-9._-]")

MAX_ID_LENGTH = 96
DIGEST_LENGTH = 32
HASHED_ID_LENGTH = MAX_ID_LENGTH + 1 + DIGEST_LENGTH


def encode_name(name: str) -> str:
    """Return ``name`` spelled with id-safe characters only, reversibly."""
    # Underscores, slashes and colons fill image references and the ids of
    # ports, which are encoded again inside edge ids: replacing them directly
    # costs less than a call into Python for each. The underscore goes first,
    # as every escape written after it holds two.
    name = name.replace("_", "_5f_").replace("/", "_2f_").replace(":", "_3a_")
    return _ESCAPED.sub(_escape_character, name)


def _escape_character(match: re.Match[str]) -> str:
    return f"_{ord(match.group()):x}_"


def element_id(kind: ElementKind, *names: str) -> str:
    """Return the id of a diagram element of ``kind`` named by ``names``."""
    if not names:
        return kind
    full = f"{kind}-" + "__".join([encode_name(name) for name in names])
    if len(full) <= MAX_ID_LENGTH:
        return full
    digest = hashlib.sha256(full.encode("ascii")).hexdigest()[:DIGEST_LENGTH]
    return f"{full[:MAX_ID_LENGTH]}-{digest}"


def service_id(name: str) -> str:
    """Return the id of a service's node, e.g. ``service-celery-beat``."""
    return element_id("service", name)


def image_id(ref: str) -> str:
    """Return the id of an image's node, e.g. ``image-postgres_3a_16``."""
    return element_id("image", ref)


def volume_id(name: str) -> str:
    """Return the id of a named volume's node."""
    return element_id("volume", name)


def network_id(names: tuple[str, ...]) -> str:
    """Return the id of the region holding the services on exactly ``names``."""
    return element_id("network", *names)

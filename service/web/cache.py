"""Make repeated requests cheap: one key per input, a bounded LRU, and ETags.

A rendered answer depends only on the uploaded files, the variables, the
options, the format and the code that drew it. Hashing exactly those gives a
key that is both the cache key and the ETag, so a client holding a copy can
ask "still the same?" without the service parsing or drawing anything.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

from service import __version__
from service.compose import MappingSource, ProjectInput
from service.render.options import DiagramOptions


@dataclass(frozen=True)
class CachedAnswer:
    """A rendered body ready to send again."""

    body: bytes
    media_type: str
    services: int


def build_cache_key(
    kind: str,
    project_input: ProjectInput,
    fmt: str,
    options: DiagramOptions | None = None,
) -> str:
    """Return a hex digest naming this exact answer of this service version.

    Only uploaded content takes part: the web service never reads elsewhere.
    """
    sources = project_input.sources
    if not isinstance(sources, MappingSource):
        raise TypeError("The web layer only keys inputs whose sources are uploaded.")

    payload = {
        "version": __version__,
        "kind": kind,
        "format": fmt,
        # Every option is a scalar, so the instance's own field dict encodes
        # as dataclasses.asdict would, without its recursive copy.
        "options": vars(options) if options is not None else None,
        "files": [[f.name, f.text] for f in project_input.files],
        "env_file": (
            [project_input.env_file.name, project_input.env_file.text]
            if project_input.env_file
            else None
        ),
        "variables": sorted(project_input.variables.items()),
        "project_name": project_input.project_name,
        "profiles": list(project_input.profiles),
        "project_directory": project_input.project_directory,
        "sources": sorted(sources.files.items()),
    }
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def etag_for(key: str) -> str:
    """Return the strong ETag header value for a cache key."""
    return f'"{key[:40]}"'


def is_not_modified(if_none_match: str | None, etag: str) -> bool:
    """Tell whether an ``If-None-Match`` header already names ``etag``.

    Comparison is weak, as RFC 9110 asks for ``If-None-Match``: ``W/"x"``
    matches ``"x"``; ``*`` matches any current representation.
    """
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


class RenderCache:
    """A least-recently-used store of answers, bounded in entries and in bytes.

    Safe to use from the event loop and from worker threads alike.
    """

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        self._max_entries = max(0, max_entries)
        self._max_bytes = max(0, max_bytes)
        self._entries: OrderedDict[str, CachedAnswer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> CachedAnswer | None:
        """Return the answer stored under ``key`` and mark it recently used."""
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

    def put(self, key: str, answer: CachedAnswer) -> None:
        """Store ``answer``, evicting the least recently used until it fits."""
        size = len(answer.body)
        if size > self._max_bytes or self._max_entries == 0:
            return

        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous.body)
            self._entries[key] = answer
            self._bytes += size
            self._evict()

    def _evict(self) -> None:
        while len(self._entries) > self._max_entries or self._bytes > self._max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """Return the bytes of body currently held."""
        with self._lock:
            return self._bytes

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

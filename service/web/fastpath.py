"""Answer a repeated diagram request before the framework routes it.

A cached diagram costs little to send but a lot to reach through FastAPI:
routing, query validation and dependencies cost several times what the
trivial ``/livez`` costs. Documentation pages ask for the same Kroki URL over
and over, so this middleware remembers, per exact request, which rendered
answer it got and replays that answer's bytes and headers directly (all but
``Server-Timing``: a replay renders nothing, so it has no timings to tell).

A request is "the same" when its method, path, raw query string,
``Content-Type`` and body are byte for byte the same. Two query strings that
mean the same options (``?legend=true`` and none) are different requests
here; the second simply goes the long way, where the render cache still
answers it. ``Accept`` takes no part: it only chooses how an error is
answered, and errors are never remembered.

Only answers a route offers with ``offer_answer`` (a full 200 of a rendered
body) are remembered, and the body itself is not: the entry names the render
cache's key, so the render cache's bounds in entries and bytes still hold,
and an answer it evicted makes the request go the long way again.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.web.cache import RenderCache, is_not_modified
from service.web.inputs import set_body_deadline
from service.web.logs import log_fields

#: The routes whose answers may be remembered; every other request passes by.
_GET_PREFIXES = ("/compose/",)
_POST_PATHS = frozenset({"/", "/api/v1/diagram", "/api/v1/model"})
_POST_PREFIXES = ("/compose/",)

_OFFER = "fast_path_offer"

#: What only the first, rendered answer may say: a replay rendered nothing.
_FRESH_HEADERS = frozenset({b"server-timing"})
_FRESH_FIELDS = frozenset({"cache", "graphviz_ms"})


def offer_answer(request: Request, key: str) -> None:
    """Let this exact request be answered again with the render cache's ``key``."""
    request.scope.setdefault("state", {})[_OFFER] = key


def build_not_modified(etag: str, cache_control: str) -> Response:
    """Return the 304 that tells a client its copy tagged ``etag`` is current."""
    return Response(
        status_code=304, headers={"ETag": etag, "Cache-Control": cache_control}
    )


@dataclass(frozen=True)
class KnownAnswer:
    """What one request was answered with, minus the body the render cache holds."""

    key: str
    length: int
    headers: tuple[tuple[bytes, bytes], ...]
    etag: str
    cache_control: str
    route: Any
    fields: tuple[tuple[str, Any], ...]


class KnownAnswers:
    """A least-recently-used map from request digests to answers, bounded in entries.

    Each entry holds headers and a key, never a body, so its size is small
    and fixed; used only from the event loop.
    """

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max(0, max_entries)
        self._entries: OrderedDict[bytes, KnownAnswer] = OrderedDict()

    def get(self, digest: bytes) -> KnownAnswer | None:
        """Return the answer remembered for ``digest`` and mark it recently used."""
        known = self._entries.get(digest)
        if known is not None:
            self._entries.move_to_end(digest)
        return known

    def put(self, digest: bytes, known: KnownAnswer) -> None:
        """Remember ``known``, forgetting the least recently used beyond the bound."""
        if self._max_entries == 0:
            return
        self._entries[digest] = known
        self._entries.move_to_end(digest)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class FastPathMiddleware:
    """Replay remembered answers to identical requests; pass everything else on."""

    def __init__(
        self,
        app: ASGIApp,
        cache: RenderCache,
        max_entries: int,
        max_body_bytes: int,
        body_timeout_seconds: float,
    ) -> None:
        self.app = app
        self.cache = cache
        self.known = KnownAnswers(max_entries)
        self._max_body_bytes = max_body_bytes
        self._body_timeout = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_answerable(scope):
            await self.app(scope, receive, send)
            return

        headers = _first_headers(scope["headers"])
        body: bytes | None = b""
        if scope["method"] == "POST":
            body, receive = await self._read_body(scope, receive, headers)
        if body is None:
            await self.app(scope, receive, send)
            return

        digest = _request_digest(scope, headers.get(b"content-type", b""), body)
        known = self.known.get(digest)
        if_none_match = headers.get(b"if-none-match")
        if known is not None and await self._replay(
            scope, receive, send, known, if_none_match
        ):
            return
        await self._answer_and_remember(digest, scope, receive, send)

    async def _read_body(
        self, scope: Scope, receive: Receive, headers: dict[bytes, bytes]
    ) -> tuple[bytes | None, Receive]:
        # A body declared too large is the route's to refuse, unread.
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self._max_body_bytes:
            return None, receive

        # The route measures its body timeout from here, so a slow client
        # waits no longer than it did before this middleware read first.
        set_body_deadline(scope, anyio.current_time() + self._body_timeout)
        messages: list[Message] = []
        body = None
        with anyio.move_on_after(self._body_timeout):
            body = await _collect(receive, messages, self._max_body_bytes)
        return body, _replaying(messages, receive)

    async def _replay(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        known: KnownAnswer,
        if_none_match: bytes | None,
    ) -> bool:
        fields = log_fields(scope)
        tags = if_none_match.decode("latin-1") if if_none_match else None
        if is_not_modified(tags, known.etag):
            scope["route"] = known.route
            fields.update(known.fields)
            fields.pop("services", None)
            fields["cache"] = "not-modified"
            response = build_not_modified(known.etag, known.cache_control)
            await response(scope, receive, send)
            return True

        cached = self.cache.get(known.key)
        if cached is None or len(cached.body) != known.length:
            return False
        scope["route"] = known.route
        fields.update(known.fields)
        fields["cache"] = "hit"
        start = {"type": "http.response.start", "status": 200}
        await send({**start, "headers": list(known.headers)})
        await send({"type": "http.response.body", "body": cached.body})
        return True

    async def _answer_and_remember(
        self, digest: bytes, scope: Scope, receive: Receive, send: Send
    ) -> None:
        sent: dict[str, Any] = {"status": 0, "headers": (), "length": 0, "parts": 0}

        async def send_watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
                sent["headers"] = tuple(message.get("headers", ()))
            elif message["type"] == "http.response.body":
                sent["length"] += len(message.get("body", b""))
                sent["parts"] += 1
            await send(message)

        await self.app(scope, receive, send_watching)

        key = scope.get("state", {}).get(_OFFER)
        if key is None or sent["status"] != 200 or sent["parts"] != 1:
            return
        known = self._known_answer(key, scope, sent["headers"], sent["length"])
        if known is not None:
            self.known.put(digest, known)

    def _known_answer(
        self,
        key: str,
        scope: Scope,
        headers: tuple[tuple[bytes, bytes], ...],
        length: int,
    ) -> KnownAnswer | None:
        cached = self.cache.get(key)
        if cached is None or len(cached.body) != length:
            return None
        named = dict(headers)
        fields = {k: v for k, v in log_fields(scope).items() if k not in _FRESH_FIELDS}
        return KnownAnswer(
            key=key,
            length=length,
            headers=tuple(h for h in headers if h[0] not in _FRESH_HEADERS),
            etag=named.get(b"etag", b"").decode("latin-1"),
            cache_control=named.get(b"cache-control", b"").decode("latin-1"),
            route=scope.get("route"),
            fields=tuple(fields.items()),
        )


def _first_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    # The first value of each header, as Starlette's Headers.get reads it.
    headers: dict[bytes, bytes] = {}
    for name, value in raw:
        headers.setdefault(name, value)
    return headers


def _is_answerable(scope: Scope) -> bool:
    method: str = scope["method"]
    path: str = scope["path"]
    if method == "GET":
        return path.startswith(_GET_PREFIXES)
    if method == "POST":
        return path in _POST_PATHS or path.startswith(_POST_PREFIXES)
    return False


def _request_digest(scope: Scope, content_type: bytes, body: bytes) -> bytes:
    # Each part is length-prefixed, so no two different requests can join
    # into the same byte string.
    digest = hashlib.sha256()
    parts = (
        scope["method"].encode("ascii"),
        scope.get("root_path", "").encode("utf-8", "surrogateescape"),
        scope["path"].encode("utf-8", "surrogateescape"),
        scope["query_string"],
        content_type,
        body,
    )
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


async def _collect(
    receive: Receive, messages: list[Message], max_bytes: int
) -> bytes | None:
    """Return the whole body, or None when it ends early or passes ``max_bytes``."""
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None
        size += len(message.get("body", b""))
        if size > max_bytes:
            return None
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in messages)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    pending = deque(messages)

    async def receive_again() -> Message:
        if pending:
            return pending.popleft()
        return await receive()

    return receive_again

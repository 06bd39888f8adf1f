"""One request on the HTTP listener: its state, and the bounds the listener puts on reading and writing it.

The HTTP door (:mod:`.http_door`) makes an :class:`Exchange` for every request and makes it the current one (a
context variable), so the Connect handlers (:mod:`.http_connect`) and the invoice download (:mod:`.http_download`)
find the request id, the headers and the connection, and leave behind the :class:`~.relay.ShopCall` and how the
call ended. Around the application the exchange bounds both directions:

* **reading**: the request body must arrive within ``read_timeout`` seconds and be at most ``max_body`` bytes
  (:meth:`Exchange.read_body`); a slow client (slowloris) is answered 408 and its connection closed, a large body
  400 ``invalid_argument`` — the same limit and message as on gRPC, checked before the bytes are taken in;
* **writing**: every write to the shop must complete by the call's deadline (:meth:`Exchange.send`) while the
  answer's bytes are held in the relay's memory budget. A write still blocked then — a shop that does not read
  — is given up: the bytes are booked as abandoned, the call ends ``DEADLINE_EXCEEDED`` and an HTTP/1.1
  connection is dropped at once (the transport aborted), which frees what the server had buffered for it; an
  HTTP/2 stream is left to the connection's age limit (:mod:`.http_server`), as on the gRPC port. A shop that
  closed its connection is no shop that does not read: a write pending when the connection is lost ends at once,
  and the call ends ``CANCELLED``, as on the gRPC port.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import grpc
from connectrpc.code import Code

from .http_errors import error_json
from .relay import Relay, ShopCall

# An answer that arrives at the very end of the deadline still gets this long to be handed to the shop.
WRITE_FLOOR = 0.25

ASGIMessage = dict[str, Any]


class Header(NamedTuple):
    """One request header as the relay chain reads metadata: a (lower-case name, value) pair, also by name."""

    key: str
    value: str


Receive = Callable[[], Any]
Send = Callable[[ASGIMessage], Any]

_CURRENT: contextvars.ContextVar[Exchange] = contextvars.ContextVar("onlineconnect_http_exchange")


class NotReading(Exception):
    """Expected: the shop did not take an answer before the call's deadline; the connection was dropped."""


class Gone(Exception):
    """Expected: the shop closed the connection before its answer was written; the call ends CANCELLED."""


class BodyRefused(Exception):
    """Expected: the request body was too large or too slow; the answer has been written."""


@dataclass
class Exchange:
    """One HTTP request: what the door knows of it, and what the handlers leave behind.

    Attributes:
        relay: The relay chain (memory budget, abandoned bytes).
        request_id: The caller's well-formed ``X-Request-Id``, else a fresh one; echoed on every answer.
        metadata: The request headers as (lower-case name, value), with ``x-request-id`` set to ``request_id``.
        peer: The client's address, for logs.
        default_deadline: Loop time by which writes must be done while no ShopCall has a deadline yet.
        abort: Drops the connection at once (the transport's ``abort``); None if the server offers none.
        gone: Resolves when the shop is gone — its connection lost, or the server reported a disconnect of this
            request — so that a write then pending ends at once (:class:`Gone`); see :meth:`follow`.
        sc: The call on the relay chain, once a handler made one.
        code: How the call ended as the handlers saw it (None: not known yet).
        message: The error message, if the call failed.
        status: The HTTP status of the answer, once its head was written.
        http_version: ``1.1``, ``2`` …, from the request.
        extra_headers: Added to the answer's head (``connection: close`` on HTTP/1.1).
    """

    relay: Relay
    request_id: str
    metadata: list[Header]
    peer: str
    default_deadline: float
    abort: Callable[[], None] | None = None
    gone: asyncio.Future[None] | None = None
    sc: ShopCall | None = None
    code: grpc.StatusCode | None = None
    message: str = ""
    status: int = 0
    http_version: str = "1.1"
    extra_headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def ended(self, code: grpc.StatusCode, message: str = "") -> None:
        """Records how the call ended (a later failure to write the answer overrides it)."""
        self.code, self.message = code, message

    @property
    def deadline(self) -> float:
        """Loop time by which the current write must be done."""
        if self.sc is not None and self.sc.deadline:
            return self.sc.deadline
        return self.default_deadline

    def activate(self) -> contextvars.Token[Exchange]:
        """Makes this the current exchange of the running task (and the tasks it starts)."""
        return _CURRENT.set(self)

    def deactivate(self, token: contextvars.Token[Exchange]) -> None:
        """Undoes :meth:`activate`."""
        _CURRENT.reset(token)

    async def read_body(
        self, receive: Receive, send: Send, *, max_body: int, read_timeout: float, declared: int | None
    ) -> bytes:
        """Reads the whole request body within ``read_timeout`` seconds and ``max_body`` bytes.

        Args:
            receive: The server's receive callable.
            send: Where to write the refusal.
            max_body: Largest body accepted.
            read_timeout: Seconds the client has to send it.
            declared: The request's ``Content-Length``, if it sent one.

        Raises:
            BodyRefused: too large or too slow; the refusal has been written.
        """
        too_large = error_json(Code.INVALID_ARGUMENT, f"request body exceeds the limit of {max_body} bytes")
        if declared is not None and declared > max_body:
            await self.respond(send, 400, too_large, close=True)
            raise BodyRefused
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(read_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        raise BodyRefused
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > max_body:
                        await self.respond(send, 400, too_large, close=True)
                        raise BodyRefused
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        return b"".join(chunks)
        except TimeoutError:
            slow = error_json(Code.DEADLINE_EXCEEDED, f"the request body did not arrive within {read_timeout:g} s")
            await self.respond(send, 408, slow, close=True)
            raise BodyRefused from None

    async def respond(
        self,
        send: Send,
        status: int,
        body: bytes,
        *,
        content_type: bytes = b"application/json",
        headers: list[tuple[bytes, bytes]] | None = None,
        close: bool = False,
    ) -> None:
        """Writes a whole small answer (an error, the OpenAPI document) through :meth:`send`."""
        head = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(headers or [])]
        if close:
            self.close_after()
        await self.send(send, {"type": "http.response.start", "status": status, "headers": head})
        await self.send(send, {"type": "http.response.body", "body": body, "more_body": False})

    async def send(self, send: Send, message: ASGIMessage) -> None:
        """Writes one ASGI message by the deadline, holding its body bytes in the memory budget.

        Raises:
            NotReading: the write did not complete by the deadline; the connection has been dropped.
            Gone: the connection was lost before the write completed (the shop went away).
        """
        if message["type"] == "http.response.start":
            message = self._with_headers(message)
        body = message.get("body", b"") if message["type"] == "http.response.body" else b""
        loop = asyncio.get_running_loop()
        closed = self.gone
        held = self.relay.hold(self.sc, len(body)) if self.sc is not None and body else contextlib.nullcontext()
        with held:
            try:
                async with asyncio.timeout_at(max(self.deadline, loop.time() + WRITE_FLOOR)) as timeout:
                    if closed is None:
                        await send(message)
                    else:
                        if closed.done():
                            raise TimeoutError

                        # A lost connection ends the pending write now rather than at the deadline.
                        def wake(_: object) -> None:
                            with contextlib.suppress(RuntimeError):  # the write completed meanwhile
                                timeout.reschedule(-1.0)

                        closed.add_done_callback(wake)
                        try:
                            await send(message)
                        finally:
                            closed.remove_done_callback(wake)
            except TimeoutError:
                if closed is not None and closed.done():
                    self.ended(grpc.StatusCode.CANCELLED, "the shop closed the connection before the answer")
                    raise Gone from None
                if self.sc is not None:
                    self.relay.abandoned(self.sc, len(body))
                self.ended(grpc.StatusCode.DEADLINE_EXCEEDED, "the shop did not read the answer within the deadline")
                if self.abort is not None and self.http_version.startswith("1"):
                    # The connection carries only this answer: dropping it frees what the server buffered. An
                    # HTTP/2 connection carries other calls too; its stalled stream is bounded by the age limit.
                    self.abort()
                raise NotReading from None

    def follow(self, connection_closed: asyncio.Future[None] | None) -> Callable[[], None]:
        """Makes :attr:`gone` resolve when ``connection_closed`` (the listener's future of the connection) does;
        returns the function that stops following it, to call when the request is done (a keep-alive connection
        serves many requests)."""
        gone = self.gone = asyncio.get_running_loop().create_future()

        def lost(_: object) -> None:
            if not gone.done():
                gone.set_result(None)

        if connection_closed is None:
            return lambda: None
        connection_closed.add_done_callback(lost)

        def unfollow() -> None:
            connection_closed.remove_done_callback(lost)

        return unfollow

    def _disconnected(self) -> None:
        if self.gone is not None and not self.gone.done():
            self.gone.set_result(None)

    @contextlib.asynccontextmanager
    async def watching(self, receive: Receive) -> AsyncIterator[None]:
        """Reads ``receive`` in the background while the body runs, so that a disconnect the server reports
        resolves :attr:`gone` (for answers written without connectrpc, which watches by itself)."""

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            self._disconnected()

        task = asyncio.get_running_loop().create_task(watch())
        try:
            yield
        finally:
            task.cancel()

    def close_after(self) -> None:
        """Asks for the connection to be closed after this answer (HTTP/1.x; HTTP/2 streams end by themselves)."""
        if self.http_version.startswith("1") and (b"connection", b"close") not in self.extra_headers:
            self.extra_headers.append((b"connection", b"close"))

    def _with_headers(self, message: ASGIMessage) -> ASGIMessage:
        """The answer's head with ``x-request-id``, a ``cache-control`` (``no-store`` unless the handler set one)
        and the door's extra headers."""
        self.status = int(message["status"])
        headers = [(bytes(k).lower(), bytes(v)) for k, v in message.get("headers", ())]
        names = {k for k, _ in headers}
        headers.append((b"x-request-id", self.request_id.encode()))
        if b"cache-control" not in names:
            headers.append((b"cache-control", b"no-store"))
        headers.extend(self.extra_headers)
        return {**message, "headers": headers}

    def replay(self, body: bytes, receive: Receive) -> Receive:
        """A receive callable that first delivers the already read ``body``, then whatever the server delivers
        (a disconnect)."""
        delivered = False

        async def replayed() -> ASGIMessage:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            message: ASGIMessage = await receive()
            if message["type"] == "http.disconnect":
                self._disconnected()
            return message

        return replayed


def current() -> Exchange:
    """The exchange of the request being served (set by the HTTP door)."""
    return _CURRENT.get()

"""The HTTP listener (``[http] listen``): HTTP/1.1 and HTTP/2 connections on the gateway's event loop.

Each connection is served by the server that handles its protocol fastest: HTTP/1.1 — what PHP's curl and most
shops speak — by uvicorn's protocol on ``httptools`` (the request parsed in C), HTTP/2 by hypercorn (``h2``).
The protocol is known before a byte is taken out of the connection: under TLS from ALPN, in plaintext from the
client's first bytes (the HTTP/2 preface ``PRI * HTTP/2.0`` of a prior-knowledge client). An HTTP/1.1
``Upgrade: h2c`` request is answered over HTTP/1.1 (a server may ignore the upgrade).

The listener accepts connections itself and hands each to uvicorn's or hypercorn's connection handler, so
that the gateway keeps what an ASGI application cannot reach: the connection. Each connection gets

* an **abort handle** in the ASGI scope's ``state`` (``onlineconnect.abort``): the door drops an HTTP/1.1
  connection whose shop stopped reading an answer, which frees what the server buffered for it at once;
* a **maximum age** (``server.max_connection_age_seconds``, as on the gRPC port): past it an HTTP/1.1 connection
  is closed after its current answer (``onlineconnect.too_old``), and any connection still open at age plus
  ``max_connection_age_grace_seconds`` is aborted — the bound on what a stalled HTTP/2 stream can keep;
* ``TCP_NODELAY``, and ``TCP_USER_TIMEOUT``: the kernel drops a peer that acknowledges nothing (or keeps a zero
  window) for 30 s.

Bounds on what a client sends: request head at most 16 KiB (HTTP/1.1; a larger one is answered 431) or header
list 16 KiB (HTTP/2); the head of a request must arrive within ``keep_alive_seconds`` of the connection going idle
(a timer runs until a whole head is in, which drops a slowloris client); the body within ``[http]
read_timeout_seconds`` (:mod:`.http_exchange`); at most ``server.max_concurrent_streams`` streams per HTTP/2
connection.

TLS uses the gRPC port's certificate and key, with ALPN offering ``h2`` and ``http/1.1``; without TLS, HTTP/2
works with prior knowledge (``curl --http2-prior-knowledge``).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import socket
from typing import Any

import structlog
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config as HypercornConfig
from uvicorn.config import Config as UvicornConfig
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from onlineconnect.config import split_host_port

from .config import GatewayConfig

log = structlog.get_logger("onlineconnect.gateway.http_server")

MAX_HEAD_BYTES = 16 * 1024
TLS_HANDSHAKE_SECONDS = 10.0
USER_TIMEOUT_MS = 30_000
BACKLOG = 1024


class HttpListener:
    """Serves an ASGI application on ``[http] listen``.

    Args:
        config: The gateway's configuration; ``config.http`` must be set.
        app: The ASGI application (:class:`~.http_door.HttpDoor`).
    """

    def __init__(self, config: GatewayConfig, app: Any) -> None:
        assert config.http is not None
        self.config = config
        self.http = config.http
        self._raw_app = app
        self._app = ASGIWrapper(app)
        self._uvicorn_state = ServerState()
        self._server: asyncio.Server | None = None
        self._context = WorkerContext(None)
        self._connections: dict[asyncio.Task[Any], asyncio.WriteTransport] = {}
        self.port = 0
        self._uvicorn: UvicornConfig | None = None
        self._date_timer: asyncio.TimerHandle | None = None

    def _hypercorn_config(self) -> HypercornConfig:
        hc = HypercornConfig()
        hc.keep_alive_timeout = self.http.keep_alive
        hc.read_timeout = None  # a shop downloading a long answer sends nothing meanwhile; bounds are elsewhere
        hc.h11_max_incomplete_size = MAX_HEAD_BYTES
        hc.h2_max_header_list_size = MAX_HEAD_BYTES
        hc.h2_max_concurrent_streams = self.config.max_concurrent_streams
        hc.include_server_header = False
        hc.accesslog = None  # URLs of GET calls carry customer numbers: the door logs calls itself, without them
        hc.ssl_handshake_timeout = TLS_HANDSHAKE_SECONDS
        if not self.http.insecure:
            assert self.config.tls_cert is not None and self.config.tls_key is not None
            hc.certfile, hc.keyfile = str(self.config.tls_cert), str(self.config.tls_key)
        return hc

    def _bind(self) -> socket.socket:
        host, port = split_host_port(self.http.listen, ValueError)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(BACKLOG)
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot bind the HTTP listener to {self.http.listen}: {exc.strerror}") from exc
        return sock

    async def start(self) -> int:
        """Binds ``[http] listen`` and starts accepting; returns the bound port (useful with port 0)."""
        self._hc = self._hypercorn_config()
        ssl_context = self._hc.create_ssl_context()
        sock = self._bind()
        self._server = await asyncio.start_server(
            self._connection,
            sock=sock,
            ssl=ssl_context,
            ssl_handshake_timeout=TLS_HANDSHAKE_SECONDS if ssl_context is not None else None,
        )
        self.port = int(sock.getsockname()[1])
        if ssl_context is None:
            log.warning(
                "http.plaintext",
                listen=self.http.listen,
                hint="[http] without TLS: shops send their API keys in clear; use it on loopback only",
            )
        self._tick_date()
        log.info("http.started", listen=self.http.listen, port=self.port, tls=ssl_context is not None)
        return self.port

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        transport = writer.transport
        raw = writer.get_extra_info("socket")
        if raw is not None:
            with contextlib.suppress(OSError):
                # Small answers go out in several writes (head, body, end of chunks): without NODELAY each waits
                # for the client's delayed ACK, some 40 ms.
                raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if hasattr(socket, "TCP_USER_TIMEOUT"):
                    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)
        opened = loop.time()
        age = self.config.max_connection_age
        state: dict[str, Any] = {
            "onlineconnect.abort": transport.abort,
            "onlineconnect.too_old": lambda: loop.time() - opened > age,
        }
        deadline = loop.call_later(age + self.config.max_connection_age_grace, transport.abort)
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = transport
        closed: asyncio.Future[None] = loop.create_future()
        state["onlineconnect.closed"] = closed  # resolves when the connection is gone: writes to it end at once
        try:
            if await _speaks_http1(reader, writer):
                await self._serve_http1(reader, writer, state, closed)
            else:
                watch = loop.create_task(_when_closed(writer, closed))
                try:
                    await TCPServer(self._app, loop, self._hc, self._context, state, reader, writer)
                finally:
                    watch.cancel()
        finally:
            if not closed.done():
                closed.set_result(None)
            deadline.cancel()
            self._connections.pop(task, None)

    def _tick_date(self) -> None:
        """Keeps the ``Date`` header of HTTP/1.1 answers current (uvicorn's own server would do it each second)."""
        self._uvicorn_state.default_headers = [(b"date", email.utils.formatdate(usegmt=True).encode())]
        self._date_timer = asyncio.get_running_loop().call_later(1.0, self._tick_date)

    async def _serve_http1(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        state: dict[str, Any],
        lost: asyncio.Future[None],
    ) -> None:
        """Moves the connection from the stream reader to uvicorn's httptools protocol (HTTP/1.1 parsed in C)."""
        if self._uvicorn is None:
            self._uvicorn = UvicornConfig(
                self._raw_app,
                lifespan="off",
                proxy_headers=False,
                server_header=False,
                access_log=False,
                timeout_keep_alive=int(max(1, self.http.keep_alive)),
                log_config=None,
            )
            self._uvicorn.load()
        protocol = _Http1(self._uvicorn, self._uvicorn_state, state, lost, head_seconds=self.http.keep_alive)
        transport = writer.transport
        buffered = bytes(getattr(reader, "_buffer", b""))
        transport.set_protocol(protocol)
        protocol.connection_made(transport)  # type: ignore[arg-type]
        if buffered:
            protocol.data_received(buffered)
        if reader.at_eof():
            protocol.connection_lost(None)
        await lost

    async def stop(self, grace: float) -> None:
        """Stops accepting; lets open requests finish within ``grace`` seconds, then drops what is left.

        Idle keep-alive connections close at once, busy HTTP/1.1 ones after their current answer, HTTP/2 ones
        refuse new streams.
        """
        if self._server is None:
            return
        self._server.close()
        if self._date_timer is not None:
            self._date_timer.cancel()
        await self._context.terminated.set()
        for http1 in list(self._uvicorn_state.connections):
            http1.shutdown()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=max(grace, 0.01))
        for transport in list(self._connections.values()):
            transport.abort()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=1.0)
        self._server = None
        log.info("http.stopped")


_HEAD_TOO_LARGE_BODY = b'{"code": "invalid_argument", "message": "the request head exceeds %d bytes"}' % MAX_HEAD_BYTES
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_HEAD_TOO_LARGE_BODY), _HEAD_TOO_LARGE_BODY)
)
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


async def _when_closed(writer: asyncio.StreamWriter, closed: asyncio.Future[None]) -> None:
    """Resolves ``closed`` as soon as the connection of ``writer`` is lost (the client went away), while hypercorn
    still serves it: hypercorn does not end a stream's pending write when its connection drops."""
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    if not closed.done():
        closed.set_result(None)


async def _speaks_http1(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """True for an HTTP/1.x connection (served by uvicorn), False for HTTP/2 (hypercorn): ALPN under TLS, the
    client's first bytes (the HTTP/2 preface) in plaintext. Reads nothing out of the stream reader."""
    ssl_object = writer.get_extra_info("ssl_object")
    if ssl_object is not None:
        return bool(ssl_object.selected_alpn_protocol() != "h2")
    buffer: bytearray = getattr(reader, "_buffer")  # noqa: B009 - peeked at, left in place for the server
    while len(buffer) < 3 and not reader.at_eof():
        await getattr(reader, "_wait_for_data")("peek")  # noqa: B009
    return not H2_PREFACE.startswith(bytes(buffer[:3])) if buffer else False


class _Http1(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with the listener's bounds: the request head within ``head_seconds`` of the
    connection going idle (slowloris) and at most :data:`MAX_HEAD_BYTES`; ``lost`` resolves when it closes."""

    def __init__(
        self,
        config: UvicornConfig,
        server_state: ServerState,
        app_state: dict[str, Any],
        lost: asyncio.Future[None],
        *,
        head_seconds: float,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop=lost.get_loop())
        self._lost = lost
        self._head_seconds = head_seconds
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def _wait_for_head(self) -> None:
        self._head_bytes = 0
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self._head_seconds, self.transport.abort)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_head()

    def _count_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.transport.write(HEAD_TOO_LARGE)
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self.transport.is_closing():
            return  # refused (head too large) or dropped: the request is not served
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)
        if not self._lost.done():
            self._lost.set_result(None)

"""The HTTP listener (``[http] listen``): hypercorn's HTTP/1.1 and HTTP/2 connections on the gateway's event loop.

The listener accepts connections itself and hands each to hypercorn's connection handler (``TCPServer``), so
that the gateway keeps what an ASGI application cannot reach: the connection. Each connection gets

* an **abort handle** in the ASGI scope's ``state`` (``onlineconnect.abort``): the door drops an HTTP/1.1
  connection whose shop stopped reading an answer, which frees what the server buffered for it at once;
* a **maximum age** (``server.max_connection_age_seconds``, as on the gRPC port): past it an HTTP/1.1 connection
  is closed after its current answer (``onlineconnect.too_old``), and any connection still open at age plus
  ``max_connection_age_grace_seconds`` is aborted — the bound on what a stalled HTTP/2 stream can keep;
* ``TCP_NODELAY``, and ``TCP_USER_TIMEOUT``: the kernel drops a peer that acknowledges nothing (or keeps a zero
  window) for 30 s.

Bounds on what a client sends: request head at most 16 KiB (HTTP/1.1) or header list 16 KiB (HTTP/2); the head of
a request must arrive within ``keep_alive_seconds`` of the connection going idle (hypercorn's idle timer runs
until a whole head is in, which drops a slowloris client); the body within ``[http] read_timeout_seconds``
(:mod:`.http_exchange`); at most ``server.max_concurrent_streams`` streams per HTTP/2 connection.

TLS uses the gRPC port's certificate and key, with ALPN offering ``h2`` and ``http/1.1``; without TLS, HTTP/2
works with prior knowledge (``curl --http2-prior-knowledge``) or an ``h2c`` upgrade.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import structlog
from hypercorn.app_wrappers import ASGIWrapper
from hypercorn.asyncio.tcp_server import TCPServer
from hypercorn.asyncio.worker_context import WorkerContext
from hypercorn.config import Config as HypercornConfig

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
        self._app = ASGIWrapper(app)
        self._server: asyncio.Server | None = None
        self._context = WorkerContext(None)
        self._connections: dict[asyncio.Task[Any], asyncio.WriteTransport] = {}
        self.port = 0

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
        state = {
            "onlineconnect.abort": transport.abort,
            "onlineconnect.too_old": lambda: loop.time() - opened > age,
        }
        deadline = loop.call_later(age + self.config.max_connection_age_grace, transport.abort)
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = transport
        try:
            await TCPServer(self._app, loop, self._hc, self._context, state, reader, writer)
        finally:
            deadline.cancel()
            self._connections.pop(task, None)

    async def stop(self, grace: float) -> None:
        """Stops accepting; lets open requests finish within ``grace`` seconds, then drops what is left.

        Idle keep-alive connections close at once, busy HTTP/1.1 ones after their current answer, HTTP/2 ones
        refuse new streams.
        """
        if self._server is None:
            return
        self._server.close()
        await self._context.terminated.set()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=max(grace, 0.01))
        for transport in list(self._connections.values()):
            transport.abort()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=1.0)
        self._server = None
        log.info("http.stopped")

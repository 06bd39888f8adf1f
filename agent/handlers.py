"""The agent's request handlers: typed requests in, typed answers out, ERP work off the event loop.

:class:`Handlers` is transport-free: a dispatch table by gRPC method path, filled per service from the calls table
(:mod:`onlineconnect.calls`, derived from the generated service descriptors). The tunnel session calls it for
requests that came through the gateway, and the direct baseline server (``onlineconnect.agent.direct``) serves the
very same handlers as plain gRPC for benchmarks. Database work runs in a bounded thread pool (``max_concurrency``
workers), so a slow query never blocks the event loop and a burst of requests cannot open more database sessions
than configured.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from google.protobuf.message import Message

from onlineconnect.calls import CALLS, ORDER_SERVICE, STOCK_SERVICE, Call
from onlineconnect.errors import Unavailable
from onlineconnect.v1 import orders_pb2

from .context import CallContext
from .orders import OrderQueries
from .stock import StockQueries

T = TypeVar("T")

PDF_CHUNK_BYTES = 60 * 1024  # leaves room for framing inside one 64 KiB tunnel frame
READ_CHUNKS = 16  # chunks read from the archive per worker-thread call (≈ 1 MiB held at a time)


def _open_binary(path: Path) -> BinaryIO:
    return open(path, "rb")


UnaryHandler = Callable[[Any, CallContext], Awaitable[Message]]
StreamHandler = Callable[[Any, CallContext], AsyncIterator[Message]]


class Handlers:
    """Answers the shop-facing RPCs from the ERP: a dispatch table by method path, built by :meth:`register`.

    Both contract services are registered on construction: ``OrderService`` from :class:`OrderQueries` (and the
    invoice stream here), ``StockService`` from :class:`StockQueries`.
    """

    def __init__(self, orders: OrderQueries, stock: StockQueries, *, max_concurrency: int = 8) -> None:
        self.orders = orders
        self.stock = stock
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="erp")
        self._unary: dict[str, UnaryHandler] = {}
        self._stream: dict[str, StreamHandler] = {}
        self.register(ORDER_SERVICE, orders, get_invoice_pdf=self.invoice_pdf)
        self.register(STOCK_SERVICE, stock)

    def register(self, service: str, impl: object, **overrides: Callable[..., Any]) -> None:
        """Serves every RPC of ``service`` in the calls table from ``impl``.

        Each RPC is answered by ``impl``'s method named after it in snake case (``GetOrder`` → ``get_order``),
        or by the one of that name in ``overrides``, called with the decoded request and the call's
        :class:`CallContext`. A unary handler is either a plain function, run in the worker threads (database
        work), or ``async def``, awaited on the event loop; a server-streaming handler is an async generator of
        response messages.

        Raises:
            ValueError: ``service`` is not in the calls table, or a handler is missing or of the wrong kind.
        """
        calls = [c for c in CALLS if c.service == service]
        if not calls:
            raise ValueError(f"{service} is not in the calls table (onlineconnect.calls.add_service)")
        unknown = set(overrides) - {c.handler_name for c in calls}
        if unknown:
            raise ValueError(f"{service} has no RPCs for the handlers {sorted(unknown)}")
        for call in calls:
            name = call.handler_name
            fn = overrides.get(name) or getattr(impl, name, None)
            if fn is None:
                raise ValueError(f"{type(impl).__name__} has no {name}() to answer {call.path}")
            if call.streaming:
                if not inspect.isasyncgenfunction(fn):
                    raise ValueError(f"{name}() answers the streaming {call.path}: it must be an async generator")
                self._stream[call.path] = fn
            elif inspect.iscoroutinefunction(fn):
                self._unary[call.path] = fn
            elif callable(fn) and not inspect.isasyncgenfunction(fn):
                self._unary[call.path] = functools.partial(self._in_thread, fn)
            else:
                raise ValueError(f"{name}() answers the unary {call.path}: it must be a function or async def")

    def serves(self, call: Call) -> bool:
        """True if a handler for ``call`` is registered."""
        return call.path in self._unary or call.path in self._stream

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    async def unary(self, call: Call, request: Message, ctx: CallContext) -> Message:
        """Answers a unary call.

        Raises:
            OnlineConnectError: the mapped error for the shop (NOT_FOUND, INVALID_ARGUMENT, UNAVAILABLE, ...).
        """
        handler = self._unary.get(call.path)
        if handler is None:
            raise Unavailable(f"this agent does not answer {call.method}; update it")
        ctx.check()
        return await handler(request, ctx)

    async def stream(self, call: Call, request: Message, ctx: CallContext) -> AsyncIterator[Message]:
        """Answers a server-streaming call: its response messages, in order.

        Raises:
            OnlineConnectError: the mapped error for the shop, before the first message or between messages.
        """
        handler = self._stream.get(call.path)
        if handler is None:
            raise Unavailable(f"this agent does not answer {call.method}; update it")
        ctx.check()
        async for message in handler(request, ctx):
            yield message

    async def invoice_pdf(
        self, request: orders_pb2.GetInvoicePdfRequest, ctx: CallContext
    ) -> AsyncIterator[orders_pb2.GetInvoicePdfResponse]:
        """GetInvoicePdf: an archived invoice PDF, metadata with the first chunk, then at most PDF_CHUNK_BYTES per
        message.

        Reads about 1 MiB at a time, so memory stays bounded whatever the file size.
        """
        info = await self._in_thread(self.orders.open_invoice, request, ctx)
        fh = await self._in_thread(_open_binary, info.path)
        try:
            first = True
            sent = 0
            while True:
                # One trip to a worker thread per READ_CHUNKS chunks: file reads are cheap, thread hops are not.
                block = await self._in_thread(fh.read, PDF_CHUNK_BYTES * READ_CHUNKS)
                if not block and not first:
                    break
                for i in range(0, max(len(block), 1), PDF_CHUNK_BYTES):
                    msg = orders_pb2.GetInvoicePdfResponse(data=block[i : i + PDF_CHUNK_BYTES])
                    if first:
                        msg.file_name = info.file_name
                        msg.content_type = info.content_type
                        msg.size = info.size
                        msg.sha256 = info.sha256
                        first = False
                    yield msg
                sent += len(block)
                if not block or sent >= info.size:
                    break
        finally:
            await self._in_thread(fh.close)

    def close(self) -> None:
        """Stops the worker threads (running queries finish; queued ones are dropped)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

"""The agent's request handlers: typed requests in, typed answers out, ERP work off the event loop.

:class:`Handlers` is transport-free: the tunnel session calls it for requests that came through the gateway, and
the direct baseline server (``onlineconnect.agent.direct``) serves the very same handlers as plain gRPC for
benchmarks. Database work runs in a bounded thread pool (``max_concurrency`` workers), so a slow query never
blocks the event loop and a burst of requests cannot open more database sessions than configured.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from google.protobuf.message import Message

from onlineconnect.calls import Call
from onlineconnect.errors import InvalidArgument
from onlineconnect.v1 import orders_pb2

from .context import CallContext
from .orders import OrderQueries
from .stock import StockQueries

T = TypeVar("T")

PDF_CHUNK_BYTES = 60 * 1024  # leaves room for framing inside one 64 KiB tunnel frame
READ_CHUNKS = 16  # chunks read from the archive per worker-thread call (≈ 1 MiB held at a time)


def _open_binary(path: Path) -> BinaryIO:
    return open(path, "rb")


class Handlers:
    """Answers every shop-facing RPC from the ERP."""

    def __init__(self, orders: OrderQueries, stock: StockQueries, *, max_concurrency: int = 8) -> None:
        self.orders = orders
        self.stock = stock
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="erp")
        self._unary: dict[str, Callable[[Any, CallContext], Message]] = {
            "list_orders": orders.list_orders,
            "get_order": orders.get_order,
            "get_reorder_items": orders.get_reorder_items,
            "lookup_guest_order": orders.lookup_guest_order,
            "get_store_stock": stock.get_store_stock,
            "batch_get_store_stock": stock.batch_get_store_stock,
        }

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    async def unary(self, call: Call, request: Message, ctx: CallContext) -> Message:
        """Answers a unary call.

        Raises:
            OnlineConnectError: the mapped error for the shop (NOT_FOUND, INVALID_ARGUMENT, UNAVAILABLE, ...).
        """
        handler = self._unary.get(call.request_field)
        if handler is None:
            raise InvalidArgument(f"{call.method} is not a unary call")
        ctx.check()
        return await self._in_thread(handler, request, ctx)

    async def invoice_pdf(
        self, request: orders_pb2.GetInvoicePdfRequest, ctx: CallContext
    ) -> AsyncIterator[orders_pb2.GetInvoicePdfResponse]:
        """Streams an archived invoice PDF: metadata with the first chunk, then at most PDF_CHUNK_BYTES per message.

        Reads about 1 MiB at a time, so memory stays bounded whatever the file size.
        """
        ctx.check()
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

"""In-memory stand-ins for the agent's ERP handlers, for relay tests that need no database."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Mapping
from typing import Any

from google.protobuf.message import Message

from onlineconnect.agent.erp.db import Database, Row
from onlineconnect.calls import Call
from onlineconnect.errors import InvalidArgument, NotFound
from onlineconnect.v1 import orders_pb2, stock_pb2


class FakeHandlers:
    """Answers GetOrder for one known order, stock for one SKU, and streams a PDF of ``pdf_size`` bytes.

    ``delay`` (seconds) makes GetOrder slow when the order number is ``SLOW``; ``calls`` counts started requests
    and ``cancelled`` those cancelled by the gateway.
    """

    def __init__(self, *, pdf_size: int = 200_000, name: str = "fake") -> None:
        self.pdf = bytes((i * 7 + 3) % 251 for i in range(pdf_size))
        self.name = name
        self.calls = 0
        self.cancelled = 0
        self.started = asyncio.Event()
        self.slow_seconds = 2.0

    async def unary(self, call: Call, request: Message, ctx: Any) -> Message:
        self.calls += 1
        self.started.set()
        if call.method == "GetOrder":
            assert isinstance(request, orders_pb2.GetOrderRequest)
            if request.order_number == "SLOW":
                try:
                    await asyncio.sleep(self.slow_seconds)
                except asyncio.CancelledError:
                    self.cancelled += 1
                    raise
            if not request.customer_number:
                raise InvalidArgument("customer_number is required")
            if request.customer_number != "4711" or request.order_number not in {"091782005", "SLOW"}:
                raise NotFound("order not found")
            summary = orders_pb2.OrderSummary(order_number=request.order_number, shop_order_number=self.name)
            return orders_pb2.GetOrderResponse(order=orders_pb2.Order(summary=summary))
        if call.method == "GetStoreStock":
            assert isinstance(request, stock_pb2.GetStoreStockRequest)
            if request.sku != "851888-XS-KI":
                raise NotFound(f"unknown sku {request.sku}")
            store = stock_pb2.StoreStock(
                store=stock_pb2.Store(store_id="HOC", name="MEGA STORE Hockenheim"), quantity_available=1
            )
            return stock_pb2.GetStoreStockResponse(article=stock_pb2.Article(sku=request.sku), stores=[store])
        raise NotFound("not in the fake")

    async def stream(self, call: Call, request: Message, ctx: Any) -> AsyncIterator[Message]:
        if call.method != "GetInvoicePdf":
            raise NotFound("not in the fake")
        assert isinstance(request, orders_pb2.GetInvoicePdfRequest)
        if request.document_id != "INV-1":
            raise NotFound("document not found")
        size = 60 * 1024
        for i in range(0, len(self.pdf), size):
            msg = orders_pb2.GetInvoicePdfResponse(data=self.pdf[i : i + size])
            if i == 0:
                msg.file_name = "invoice.pdf"
                msg.content_type = "application/pdf"
                msg.size = len(self.pdf)
                msg.sha256 = hashlib.sha256(self.pdf).hexdigest()
            yield msg

    def close(self) -> None:
        pass


class CountingDatabase:
    """Wraps a database and records every fetch (name and timeout)."""

    def __init__(self, inner: Database) -> None:
        self.inner = inner
        self.mapping = inner.mapping
        self.calls: list[tuple[str, float | None]] = []

    def fetch(self, name: str, params: Mapping[str, Any], *, timeout: float | None = None) -> list[Row]:
        self.calls.append((name, timeout))
        rows: list[Row] = self.inner.fetch(name, params, timeout=timeout)
        return rows

    def result_columns(self, name: str) -> list[str]:
        columns: list[str] = self.inner.result_columns(name)
        return columns

    def ping(self) -> None:
        self.inner.ping()

    def close(self) -> None:
        self.inner.close()

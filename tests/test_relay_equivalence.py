"""Every demo answer through the relay equals the agent's own answer: each status rule, field group and stock rule
that the repository tests pin down reaches the shop unchanged, with merchant settings applied on the agent."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from onlineconnect.agent.context import CallContext
from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.orders.settings import Visibility
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.errors import OnlineConnectError
from onlineconnect.testing import RunningRelay, running_relay
from onlineconnect.v1 import common_pb2, orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

CUSTOMERS = ("4711", "4712", "4713")


@pytest.fixture(
    params=[
        pytest.param({}, id="defaults"),
        pytest.param(
            {"visibility": Visibility(show_prices=False, show_status_history=False, show_internal_status=True)},
            id="merchant-hides-prices-and-history",
        ),
    ]
)
async def setup(erp: Path, request: pytest.FixtureRequest) -> AsyncIterator[tuple[RunningRelay, Handlers]]:
    """A relay whose agent uses the given order settings and custom stock thresholds."""
    db = SqlAlchemyDatabase(f"sqlite:///{erp / 'erp.db'}", load_mapping())
    orders = OrderSettings(archive_root=erp / "archive", **request.param)
    stock = StockSettings(low_stock_threshold=5, show_quantity_max=3)
    handlers = Handlers(OrderQueries(db, orders), StockQueries(db, stock))
    async with running_relay(handlers) as relay:
        yield relay, handlers
    handlers.close()


def ctx() -> CallContext:
    return CallContext.with_timeout("demo", 10)


async def test_every_order_answer_is_the_agents_answer(setup: tuple[RunningRelay, Handlers], erp: Path) -> None:
    """For every demo order of every customer, ListOrders, GetOrder (German and English) and GetReorderItems through
    the relay equal the agent's direct answers, and a foreign customer gets NOT_FOUND for each."""
    relay, handlers = setup
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    md = relay.shop_auth
    seen_status = set()
    for customer in CUSTOMERS:
        req = orders_pb2.ListOrdersRequest(customer_number=customer, page_size=100)
        via_relay = await stub.ListOrders(req, metadata=md, timeout=5)
        assert via_relay == handlers.orders.list_orders(req, ctx())
        for summary in via_relay.orders:
            seen_status.add(summary.status)
            for lang in (common_pb2.LANGUAGE_DE, common_pb2.LANGUAGE_EN):
                g = orders_pb2.GetOrderRequest(
                    customer_number=customer, order_number=summary.order_number, language=lang
                )
                assert await stub.GetOrder(g, metadata=md, timeout=5) == handlers.orders.get_order(g, ctx())
            r = orders_pb2.GetReorderItemsRequest(customer_number=customer, order_number=summary.order_number)
            assert await stub.GetReorderItems(r, metadata=md, timeout=5) == handlers.orders.get_reorder_items(r, ctx())
            other = next(c for c in CUSTOMERS if c != customer)
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await stub.GetOrder(
                    orders_pb2.GetOrderRequest(customer_number=other, order_number=summary.order_number),
                    metadata=md,
                    timeout=5,
                )
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
    # The demo covers the product sheet's cases: each of these statuses arrived through the relay.
    assert {
        orders_pb2.ORDER_STATUS_DELIVERED,
        orders_pb2.ORDER_STATUS_PARTIALLY_DELIVERED,
        orders_pb2.ORDER_STATUS_RETURN_IN_PROGRESS,
        orders_pb2.ORDER_STATUS_EXCHANGE_SHIPPED,
        orders_pb2.ORDER_STATUS_CANCELLED,
        orders_pb2.ORDER_STATUS_BACKORDERED,
        orders_pb2.ORDER_STATUS_RETURNED,
    } <= seen_status


async def test_every_stock_answer_is_the_agents_answer(setup: tuple[RunningRelay, Handlers], erp: Path) -> None:
    """For every demo SKU, with and without a location, GetStoreStock through the relay equals the agent's answer
    (thresholds and the show-quantity rule of the tenant's settings applied), apart from the read time."""
    relay, handlers = setup
    stub = stock_pb2_grpc.StockServiceStub(relay.shop_channel())
    con = sqlite3.connect(erp / "erp.db")
    skus = [r[0] for r in con.execute("SELECT sku FROM article_variants ORDER BY sku")]
    con.close()
    levels = set()
    for sku in skus:
        for loc in (None, stock_pb2.Location(postcode="68766", country="DE")):
            req = stock_pb2.GetStoreStockRequest(sku=sku, location=loc)
            try:
                direct = handlers.stock.get_store_stock(req, ctx())
            except OnlineConnectError as exc:
                with pytest.raises(grpc.aio.AioRpcError) as e:
                    await stub.GetStoreStock(req, metadata=relay.shop_auth, timeout=5)
                assert e.value.code() == exc.code
                continue
            got = await stub.GetStoreStock(req, metadata=relay.shop_auth, timeout=5)
            got.ClearField("data_as_of")
            direct.ClearField("data_as_of")
            assert got == direct
            levels |= {s.availability for s in got.stores}
            assert all(s.show_quantity == (0 < s.quantity_available <= 3) for s in got.stores if s.show_quantity)
    assert levels >= {
        stock_pb2.AVAILABILITY_IN_STOCK,
        stock_pb2.AVAILABILITY_LOW_STOCK,
        stock_pb2.AVAILABILITY_OUT_OF_STOCK,
    }

"""Order and stock inquiry through the relay on the real demo ERP: gateway, tunnel, agent handlers, SQLite."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from pydantic import ValidationError

from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.orders.settings import Visibility
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.testing import RunningRelay, running_relay
from onlineconnect.v1 import common_pb2, orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

SHEET_LINES = [
    (2, "6392", "Ochsenziemer XL"),
    (1, "6393", "Rinderhaut-Streifen XL"),
    (1, "SY 1", "Versandkostenfrei"),
    (1, "12009", "Gesamtkatalog 2014"),
    (2, "22030", "Kleine Belohnung für Ihren Hund"),
]


def make_handlers(folder: Path, *, orders: OrderSettings | None = None, stock: StockSettings | None = None) -> Handlers:
    """Real agent handlers on the demo ERP in ``folder``."""
    db = SqlAlchemyDatabase(f"sqlite:///{folder / 'erp.db'}", load_mapping())
    return Handlers(
        OrderQueries(db, orders or OrderSettings(archive_root=folder / "archive")),
        StockQueries(db, stock or StockSettings()),
    )


@pytest.fixture
async def relay(erp: Path) -> AsyncIterator[RunningRelay]:
    """Gateway + agent on the demo ERP."""
    handlers = make_handlers(erp)
    async with running_relay(handlers) as r:
        yield r
    handlers.close()


def orders_stub(relay: RunningRelay) -> orders_pb2_grpc.OrderServiceStub:
    return orders_pb2_grpc.OrderServiceStub(relay.shop_channel())


def stock_stub(relay: RunningRelay) -> stock_pb2_grpc.StockServiceStub:
    return stock_pb2_grpc.StockServiceStub(relay.shop_channel())


async def test_sheet_order_with_its_five_lines(relay: RunningRelay) -> None:
    """Order 091782005 of customer 4711 arrives with the product sheet's header and five lines."""
    resp = await orders_stub(relay).GetOrder(
        orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
        metadata=relay.shop_auth,
        timeout=5,
    )
    s = resp.order.summary
    assert (s.order_number, s.order_date, s.delivered_on, s.shop_order_number) == (
        "091782005",
        "2014-07-13",
        "2014-07-14",
        "140511214402704",
    )
    assert (s.total.amount_minor, s.total.currency, s.total.decimal) == (11445, "EUR", "114.45")
    assert s.status == orders_pb2.ORDER_STATUS_DELIVERED
    assert [(line.quantity_ordered, line.article_number, line.description) for line in resp.order.lines] == SHEET_LINES
    (shipment,) = resp.order.shipments
    assert shipment.parcel_number == "056326500434"
    assert shipment.carrier == "DHL"
    assert shipment.tracking_url.endswith("idc=056326500434")


async def test_hockenheim_has_one_polo_shirt(relay: RunningRelay) -> None:
    """GetStoreStock for 851888-XS-KI lists MEGA STORE Hockenheim with 1 piece available."""
    resp = await stock_stub(relay).GetStoreStock(
        stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=relay.shop_auth, timeout=5
    )
    assert resp.article.name == "STEEDS Poloshirt Lilli"
    assert (resp.article.colour, resp.article.size) == ("kirsch", "XS")
    hockenheim = [s for s in resp.stores if s.store.name == "MEGA STORE Hockenheim"]
    assert len(hockenheim) == 1
    assert hockenheim[0].quantity_available == 1
    assert hockenheim[0].show_quantity


async def test_other_customer_gets_not_found(relay: RunningRelay) -> None:
    """Another customer asking for 4711's order gets NOT_FOUND, word for word as for a missing order."""
    stub = orders_stub(relay)
    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4712", order_number="091782005"),
            metadata=relay.shop_auth,
            timeout=5,
        )
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4712", order_number="000000000"),
            metadata=relay.shop_auth,
            timeout=5,
        )
    assert foreign.value.code() == missing.value.code() == grpc.StatusCode.NOT_FOUND
    assert foreign.value.details() == missing.value.details()


async def test_invalid_argument_names_the_field(relay: RunningRelay) -> None:
    """A bad page size through the relay is INVALID_ARGUMENT naming page_size."""
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await orders_stub(relay).ListOrders(
            orders_pb2.ListOrdersRequest(customer_number="4711", page_size=100000), metadata=relay.shop_auth, timeout=5
        )
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "page_size" in (e.value.details() or "")


async def test_list_orders_pages_through_everything(relay: RunningRelay) -> None:
    """Paging ListOrders two at a time yields every order of the customer once, newest first."""
    stub = orders_stub(relay)
    full = await stub.ListOrders(
        orders_pb2.ListOrdersRequest(customer_number="4711", page_size=100), metadata=relay.shop_auth, timeout=5
    )
    seen: list[str] = []
    token = ""
    while True:
        page = await stub.ListOrders(
            orders_pb2.ListOrdersRequest(customer_number="4711", page_size=2, page_token=token),
            metadata=relay.shop_auth,
            timeout=5,
        )
        assert len(page.orders) <= 2
        seen += [o.order_number for o in page.orders]
        token = page.next_page_token
        if not token:
            break
    assert seen == [o.order_number for o in full.orders]
    assert len(seen) >= 6
    dates = [o.order_date for o in full.orders]
    assert dates == sorted(dates, reverse=True)
    assert {o.channel for o in full.orders} >= {orders_pb2.CHANNEL_WEB, orders_pb2.CHANNEL_PHONE}


async def test_open_and_historical_filters_partition_the_history(relay: RunningRelay) -> None:
    """Open and historical orders together are all orders, with no overlap."""
    stub = orders_stub(relay)

    async def numbers(f: int) -> set[str]:
        r = await stub.ListOrders(
            orders_pb2.ListOrdersRequest(customer_number="4711", page_size=100, filter=f),  # type: ignore[arg-type]
            metadata=relay.shop_auth,
            timeout=5,
        )
        return {o.order_number for o in r.orders}

    everything = await numbers(orders_pb2.ORDER_FILTER_UNSPECIFIED)
    open_ = await numbers(orders_pb2.ORDER_FILTER_OPEN)
    historical = await numbers(orders_pb2.ORDER_FILTER_HISTORICAL)
    assert open_ and historical
    assert open_ | historical == everything
    assert not open_ & historical
    assert "091782005" in historical


async def test_english_labels_on_request(relay: RunningRelay) -> None:
    """The language field switches status labels between German and English."""
    stub = orders_stub(relay)
    req = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
    de = await stub.GetOrder(req, metadata=relay.shop_auth, timeout=5)
    req.language = common_pb2.LANGUAGE_EN
    en = await stub.GetOrder(req, metadata=relay.shop_auth, timeout=5)
    assert de.order.summary.status_label != en.order.summary.status_label
    assert en.order.summary.status_label == "Delivered"


async def test_invoice_pdf_stream_is_byte_identical(relay: RunningRelay, erp: Path) -> None:
    """The invoice PDF arrives through the relay byte for byte, with matching size and SHA-256."""
    stub = orders_stub(relay)
    order = await stub.GetOrder(
        orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
        metadata=relay.shop_auth,
        timeout=5,
    )
    doc = order.order.documents[0]
    chunks = [
        m
        async for m in stub.GetInvoicePdf(
            orders_pb2.GetInvoicePdfRequest(
                customer_number="4711", order_number="091782005", document_id=doc.document_id
            ),
            metadata=relay.shop_auth,
            timeout=10,
        )
    ]
    data = b"".join(c.data for c in chunks)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert chunks[0].size == len(data)
    assert chunks[0].sha256 == hashlib.sha256(data).hexdigest()
    assert chunks[0].content_type == "application/pdf"
    archived = {p.read_bytes() for p in (erp / "archive").rglob("*.pdf")}
    assert data in archived


async def test_invoice_of_another_customer_is_not_found(relay: RunningRelay) -> None:
    """A customer cannot download another customer's invoice, even with its document id."""
    stub = orders_stub(relay)
    order = await stub.GetOrder(
        orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
        metadata=relay.shop_auth,
        timeout=5,
    )
    doc_id = order.order.documents[0].document_id
    with pytest.raises(grpc.aio.AioRpcError) as e:
        async for _ in stub.GetInvoicePdf(
            orders_pb2.GetInvoicePdfRequest(customer_number="4712", order_number="091782005", document_id=doc_id),
            metadata=relay.shop_auth,
            timeout=5,
        ):
            pass
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


async def test_path_outside_the_archive_is_refused(tmp_path: Path) -> None:
    """A document whose archived path escapes the archive root (../ or absolute) is NOT_FOUND through the relay."""
    create_demo_erp(tmp_path / "erp.db", tmp_path / "archive")
    secret = tmp_path / "secret.pdf"
    secret.write_bytes(b"%PDF-1.4 not for customers")
    con = sqlite3.connect(tmp_path / "erp.db")
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    table = next(t for t in ("documents", "invoices") if t in tables)
    cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
    path_col = next(c for c in cols if "path" in c or "file" in c)
    con.execute(f"UPDATE {table} SET {path_col} = ?", ("../secret.pdf",))
    con.commit()
    con.close()
    handlers = make_handlers(tmp_path)
    async with running_relay(handlers) as relay:
        stub = orders_stub(relay)
        order = await stub.GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
            metadata=relay.shop_auth,
            timeout=5,
        )
        with pytest.raises(grpc.aio.AioRpcError) as e:
            async for _ in stub.GetInvoicePdf(
                orders_pb2.GetInvoicePdfRequest(
                    customer_number="4711", order_number="091782005", document_id=order.order.documents[0].document_id
                ),
                metadata=relay.shop_auth,
                timeout=5,
            ):
                pass
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
    handlers.close()


async def test_reorder_offers_only_product_lines(relay: RunningRelay) -> None:
    """Reorder of the sheet's order returns 6392 x2, 6393 x1, 22030 x2 and never the shipping or catalogue line."""
    resp = await orders_stub(relay).GetReorderItems(
        orders_pb2.GetReorderItemsRequest(customer_number="4711", order_number="091782005"),
        metadata=relay.shop_auth,
        timeout=5,
    )
    assert sorted((i.article_number, i.quantity) for i in resp.items) == [("22030", 2), ("6392", 2), ("6393", 1)]
    assert not resp.rejected


async def test_hidden_prices_never_leave_the_agent(erp: Path) -> None:
    """With prices hidden by the merchant, no Money field reaches the shop."""
    settings = OrderSettings(archive_root=erp / "archive", visibility=Visibility(show_prices=False))
    handlers = make_handlers(erp, orders=settings)
    async with running_relay(handlers) as relay:
        resp = await orders_stub(relay).GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
            metadata=relay.shop_auth,
            timeout=5,
        )
    handlers.close()
    assert not resp.order.summary.HasField("total")
    assert all(not line.HasField("unit_price") and not line.HasField("line_total") for line in resp.order.lines)
    assert "11445" not in str(resp)


async def test_nearest_store_first_by_postcode_and_coordinates(relay: RunningRelay) -> None:
    """From postcode 68766 Hockenheim comes first; from Stuttgart's coordinates Stuttgart does; distances ascend."""
    stub = stock_stub(relay)
    by_plz = await stub.GetStoreStock(
        stock_pb2.GetStoreStockRequest(sku="851888-XS-KI", location=stock_pb2.Location(postcode="68766", country="DE")),
        metadata=relay.shop_auth,
        timeout=5,
    )
    assert by_plz.stores[0].store.name == "MEGA STORE Hockenheim"
    distances = [s.distance_km for s in by_plz.stores]
    assert distances == sorted(distances)
    by_coords = await stub.GetStoreStock(
        stock_pb2.GetStoreStockRequest(
            sku="851888-XS-KI",
            location=stock_pb2.Location(latitude=48.7758, longitude=9.1829),
            radius_km=80,
            max_stores=2,
        ),
        metadata=relay.shop_auth,
        timeout=5,
    )
    assert by_coords.stores[0].store.city == "Stuttgart"
    assert len(by_coords.stores) <= 2
    assert all(s.distance_km <= 80 for s in by_coords.stores)


async def test_batch_with_an_unknown_sku(relay: RunningRelay) -> None:
    """A batch with one unknown SKU answers the others; the unknown one gets its own NOT_FOUND entry."""
    resp = await stock_stub(relay).BatchGetStoreStock(
        stock_pb2.BatchGetStoreStockRequest(skus=["851888-XS-KI", "NOPE-1", "851888-M-MA"]),
        metadata=relay.shop_auth,
        timeout=5,
    )
    assert [e.sku for e in resp.entries] == ["851888-XS-KI", "NOPE-1", "851888-M-MA"]
    assert [e.code for e in resp.entries] == [0, grpc.StatusCode.NOT_FOUND.value[0], 0]
    assert resp.entries[0].stock.article.name == "STEEDS Poloshirt Lilli"


async def test_stock_cache_hit_miss_and_stale(erp: Path) -> None:
    """With the tenant's cache on, a repeat is served from cache; with the agent gone a stale answer is served."""
    handlers = make_handlers(erp)
    options = {"demo": {"stock_cache_ttl": 0.3, "stock_cache_serve_stale": True}}
    async with running_relay(handlers, tenant_options=options) as relay:
        stub = stock_stub(relay)
        req = stock_pb2.GetStoreStockRequest(sku="851888-XS-KI")
        first = await stub.GetStoreStock(req, metadata=relay.shop_auth, timeout=5)
        second = await stub.GetStoreStock(req, metadata=relay.shop_auth, timeout=5)
        assert not first.from_cache
        assert second.from_cache and not second.stale
        assert second.data_as_of == first.data_as_of
        await relay.stop_agents()
        await asyncio.sleep(0.35)
        stale = await stub.GetStoreStock(req, metadata=relay.shop_auth, timeout=5)
        assert stale.from_cache and stale.stale
        assert [s.quantity_available for s in stale.stores] == [s.quantity_available for s in first.stores]
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetStoreStock(
                stock_pb2.GetStoreStockRequest(sku="851888-S-KI"), metadata=relay.shop_auth, timeout=5
            )
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    handlers.close()


async def test_order_data_is_never_cached(erp: Path) -> None:
    """With the stock cache on, order calls still fail UNAVAILABLE once the agent is gone."""
    handlers = make_handlers(erp)
    options = {"demo": {"stock_cache_ttl": 60.0, "stock_cache_serve_stale": True}}
    async with running_relay(handlers, tenant_options=options) as relay:
        stub = orders_stub(relay)
        req = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")
        await stub.GetOrder(req, metadata=relay.shop_auth, timeout=5)
        await relay.stop_agents()
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.GetOrder(req, metadata=relay.shop_auth, timeout=5)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    handlers.close()


def test_settings_are_frozen() -> None:
    """Settings handed to the queries cannot be changed behind the agent's back."""
    with pytest.raises(ValidationError, match="frozen"):
        StockSettings().low_stock_threshold = 1  # type: ignore[misc]

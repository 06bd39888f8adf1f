"""What every OK answer through the relay must satisfy, whatever the request: the fuzz runs' oracle.

A status code alone says nothing about a leak: an agent that forgot the customer filter answers OK. So the fuzz
runs (``tests/test_fuzz_relay.py``, ``bench/fuzz_long.py``) decode every OK answer and check it against the
request and against the demo ERP's own tables:

* ListOrders: every listed order exists and belongs to the asked customer; the page holds at most the asked page
  size and never more than the configured maximum;
* GetOrder, GetReorderItems: the order is the asked one and belongs to the asked customer;
* GetInvoicePdf: the order belongs to the asked customer and the document to that order; the bytes add up to
  the announced size;
* GetStoreStock: the article is the asked SKU; no more stores than asked for (or than the protocol's cap);
* BatchGetStoreStock: entries only for asked SKUs, each at most once.

:func:`mapping_without_customer_filter` writes the deliberately broken mapping the tests use to show that these
checks catch a missing customer filter.
"""

from __future__ import annotations

import random
import sqlite3
import tomllib
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.message import DecodeError, Message

from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.mapping import default_files, load_mapping
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.agent.stock.testing import DEMO_NOW
from onlineconnect.calls import CALLS, Call
from onlineconnect.v1 import orders_pb2, stock_pb2

MAX_STORES = 200  # the protocol's cap (stock.proto)


@dataclass(frozen=True)
class DemoTruth:
    """Who owns what in the demo ERP, read straight from its SQLite file."""

    order_customer: dict[str, str]
    document_order: dict[str, str]
    skus: frozenset[str]

    @classmethod
    def read(cls, db_path: Path) -> DemoTruth:
        """Reads orders, documents and SKUs of the ERP file at ``db_path``."""
        conn = sqlite3.connect(db_path)
        try:
            return cls(
                order_customer=dict(conn.execute("SELECT order_no, customer_no FROM orders")),
                document_order=dict(conn.execute("SELECT document_id, order_no FROM documents")),
                skus=frozenset(r[0] for r in conn.execute("SELECT sku FROM article_variants")),
            )
        finally:
            conn.close()


def demo_handlers(folder: Path, *, mapping: Path | None = None) -> tuple[Handlers, DemoTruth]:
    """The agent's real handlers on a fresh demo ERP in ``folder`` (with a mapping override), and its truth."""
    db_path = folder / "erp.db"
    create_demo_erp(db_path, folder / "archive")
    db = SqlAlchemyDatabase(f"sqlite:///{db_path}", load_mapping(mapping))
    handlers = Handlers(
        OrderQueries(db, OrderSettings(archive_root=folder / "archive")),
        StockQueries(db, StockSettings(), clock=lambda: DEMO_NOW),
    )
    return handlers, DemoTruth.read(db_path)


def plausible_request(rnd: random.Random, truth: DemoTruth) -> tuple[Call, bytes]:
    """A well-formed request mixing the ERP's real customers, orders, documents and SKUs at random.

    Most combinations ask for another customer's order or document: exactly what an agent must refuse.
    """
    call = rnd.choice(CALLS)
    customer = rnd.choice([*sorted(set(truth.order_customer.values())), "9999"])
    order = rnd.choice(sorted(truth.order_customer))
    if rnd.random() < 0.4:
        customer = truth.order_customer[order]
    skus = sorted(truth.skus)
    msg: Message
    if call.method == "ListOrders":
        msg = orders_pb2.ListOrdersRequest(customer_number=customer, page_size=rnd.choice([0, 1, 3, 50, 1000]))
    elif call.method == "GetOrder":
        msg = orders_pb2.GetOrderRequest(customer_number=customer, order_number=order)
    elif call.method == "GetReorderItems":
        msg = orders_pb2.GetReorderItemsRequest(customer_number=customer, order_number=order)
    elif call.method == "GetInvoicePdf":
        document = rnd.choice(sorted(truth.document_order))
        if rnd.random() < 0.5:
            order = truth.document_order[document]
        msg = orders_pb2.GetInvoicePdfRequest(customer_number=customer, order_number=order, document_id=document)
    elif call.method == "GetStoreStock":
        msg = stock_pb2.GetStoreStockRequest(sku=rnd.choice([*skus, "999999-XX-XX"]), max_stores=rnd.choice([0, 2]))
    else:
        msg = stock_pb2.BatchGetStoreStockRequest(skus=rnd.sample(skus, rnd.randint(1, 5)))
    return call, msg.SerializeToString()


def _owned(truth: DemoTruth, customer: str, order: str, what: str) -> list[str]:
    owner = truth.order_customer.get(order)
    if owner is None:
        return [f"{what}: OK for order {order!r}, which does not exist"]
    if owner != customer:
        return [f"{what}: OK for order {order!r} of customer {owner!r} asked by customer {customer!r}"]
    return []


def violations(
    call: Call, raw_request: bytes, answers: list[bytes], truth: DemoTruth, *, max_page_size: int = 100
) -> list[str]:
    """The invariants an OK answer of ``call`` to ``raw_request`` breaks (empty: none).

    Args:
        call: The RPC.
        raw_request: The request bytes as sent.
        answers: The answer messages' bytes (one for unary calls, every chunk for a stream).
        truth: The ERP's orders, documents and SKUs.
        max_page_size: The agent's configured ``orders.max_page_size``.
    """
    try:
        req = call.request_type.FromString(raw_request)
        decoded = [call.response_type.FromString(a) for a in answers]
    except DecodeError as exc:
        return [f"{call.method}: OK, but request or answer does not decode ({exc})"]
    if not decoded:
        return [f"{call.method}: OK without any answer message"]
    answer = decoded[0]
    out: list[str] = []
    if isinstance(answer, orders_pb2.ListOrdersResponse):
        assert isinstance(req, orders_pb2.ListOrdersRequest)
        limit = min(req.page_size, max_page_size) if req.page_size > 0 else max_page_size
        if len(answer.orders) > limit:
            out.append(f"ListOrders: {len(answer.orders)} orders for page_size {req.page_size} (max {max_page_size})")
        for summary in answer.orders:
            out += _owned(truth, req.customer_number, summary.order_number, "ListOrders")
    elif isinstance(answer, orders_pb2.GetOrderResponse):
        assert isinstance(req, orders_pb2.GetOrderRequest)
        if answer.order.summary.order_number != req.order_number:
            out.append(f"GetOrder: asked {req.order_number!r}, answered {answer.order.summary.order_number!r}")
        out += _owned(truth, req.customer_number, req.order_number, "GetOrder")
    elif isinstance(answer, orders_pb2.GetReorderItemsResponse):
        assert isinstance(req, orders_pb2.GetReorderItemsRequest)
        out += _owned(truth, req.customer_number, req.order_number, "GetReorderItems")
    elif isinstance(answer, orders_pb2.GetInvoicePdfResponse):
        assert isinstance(req, orders_pb2.GetInvoicePdfRequest)
        out += _owned(truth, req.customer_number, req.order_number, "GetInvoicePdf")
        if truth.document_order.get(req.document_id) != req.order_number:
            out.append(f"GetInvoicePdf: OK for document {req.document_id!r}, which is not of {req.order_number!r}")
        size = sum(len(getattr(c, "data")) for c in decoded)  # noqa: B009 (decoded is a list of Message)
        if size != answer.size:
            out.append(f"GetInvoicePdf: {size} bytes streamed, {answer.size} announced")
    elif isinstance(answer, stock_pb2.GetStoreStockResponse):
        assert isinstance(req, stock_pb2.GetStoreStockRequest)
        if answer.article.sku != req.sku:
            out.append(f"GetStoreStock: asked {req.sku!r}, answered {answer.article.sku!r}")
        if req.sku not in truth.skus:
            out.append(f"GetStoreStock: OK for {req.sku!r}, which the ERP does not know")
        cap = min(req.max_stores, MAX_STORES) if req.max_stores > 0 else MAX_STORES
        if len(answer.stores) > cap:
            out.append(f"GetStoreStock: {len(answer.stores)} stores for max_stores {req.max_stores}")
    elif isinstance(answer, stock_pb2.BatchGetStoreStockResponse):
        assert isinstance(req, stock_pb2.BatchGetStoreStockRequest)
        asked = set(req.skus)
        seen = [e.sku for e in answer.entries]
        if not set(seen) <= asked:
            out.append(f"BatchGetStoreStock: entries for SKUs never asked: {sorted(set(seen) - asked)[:5]}")
        if len(seen) != len(set(seen)):
            out.append("BatchGetStoreStock: a SKU answered twice")
        for e in answer.entries:
            if e.code == 0 and e.stock.article.sku != e.sku:
                out.append(f"BatchGetStoreStock: entry {e.sku!r} carries the stock of {e.stock.article.sku!r}")
    return out


def mapping_without_customer_filter(path: Path) -> Path:
    """Writes a mapping override at ``path`` whose order queries lack the customer filter (a deliberate leak).

    Every shipped order query keeps its ``:customer_number`` condition; this override drops it, as a merchant's
    careless edit could, so any customer's order is found for any customer.
    """
    text = dict(default_files())["<default>/orders.toml"]
    parts = []
    for name, query in tomllib.loads(text).items():
        sql = str(query["sql"])
        leaky = sql.replace(" AND o.customer_no = :customer_number", "").replace(
            "WHERE o.customer_no = :customer_number\n  AND ", "WHERE "
        )
        if leaky != sql:
            parts.append(f"[{name}]\nsql = '''\n{leaky.strip()}\n'''\n")
    if not parts:
        raise RuntimeError("the shipped order queries no longer carry the expected customer filter")
    path.write_text("\n".join(parts), encoding="utf-8")
    return path

"""GetReorderItems against the demo ERP: product lines only, current article data, rejections with reasons."""

from __future__ import annotations

from pathlib import Path

import pytest

from onlineconnect.agent.erp.db import Database
from onlineconnect.agent.orders import OrderQueries, OrderSettings, Visibility
from onlineconnect.agent.orders.testing import context, demo_database
from onlineconnect.errors import InvalidArgument, NotFound
from onlineconnect.v1 import orders_pb2 as pb


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("erp")


@pytest.fixture(scope="module")
def db(folder: Path) -> Database:
    """The demo ERP, built once for this module (the queries only read)."""
    return demo_database(folder)


def reorder(
    db: Database,
    folder: Path,
    order: str = "091782005",
    customer: str = "4711",
    lines: tuple[int, ...] = (),
    **vis: bool,
) -> pb.GetReorderItemsResponse:
    q = OrderQueries(db, OrderSettings(archive_root=folder / "archive", visibility=Visibility(**vis)))
    req = pb.GetReorderItemsRequest(customer_number=customer, order_number=order, line_numbers=lines)
    return q.get_reorder_items(req, context())


def test_sheet_order_reorders_products_only(db: Database, folder: Path) -> None:
    """The sheet's order gives 6392 x2, 6393 x1, 22030 x2 and never SY 1 or 12009."""
    resp = reorder(db, folder)
    assert [(i.line_number, i.article_number, i.quantity) for i in resp.items] == [
        (1, "6392", 2),
        (2, "6393", 1),
        (5, "22030", 2),
    ]
    assert list(resp.rejected) == []
    assert resp.items[0].description == "Ochsenziemer XL"
    assert resp.items[0].current_price.decimal == "39.95"
    assert all(i.reason == pb.REORDER_REASON_UNSPECIFIED for i in resp.items)


def test_selected_lines_only(db: Database, folder: Path) -> None:
    """line_numbers picks lines; a non-product line asked for is silently left out."""
    resp = reorder(db, folder, lines=(2, 3, 4))
    assert [i.article_number for i in resp.items] == ["6393"] and list(resp.rejected) == []


def test_unknown_line_number_is_invalid(db: Database, folder: Path) -> None:
    """A line number the order does not have is refused naming line_numbers."""
    with pytest.raises(InvalidArgument, match="line_numbers"):
        reorder(db, folder, lines=(1, 9))


def test_discontinued_blocked_and_unknown_are_rejected(db: Database, folder: Path) -> None:
    """Discontinued names its successor, blocked is NOT_SELLABLE, a vanished article UNKNOWN_ARTICLE."""
    resp = reorder(db, folder, "091799001", "4712")
    assert [i.article_number for i in resp.items] == ["6393"]
    rejected = {r.article_number: r for r in resp.rejected}
    assert rejected["7001"].reason == pb.REORDER_REASON_DISCONTINUED
    assert rejected["7001"].successor_article_number == "7002"
    assert rejected["7001"].successor_description == "Hundedecke Comfort 100 x 70 cm"
    assert rejected["5130"].reason == pb.REORDER_REASON_NOT_SELLABLE
    assert rejected["3107"].reason == pb.REORDER_REASON_UNKNOWN_ARTICLE
    assert not any(r.HasField("current_price") for r in resp.rejected)


def test_variant_lines_carry_sku_and_variant(db: Database, folder: Path) -> None:
    """A polo shirt line reorders by its SKU with colour and size and the article's price."""
    (item,) = reorder(db, folder, "091795530").items[:1]
    assert item.sku == "851888-M-MA" and item.variant == pb.Variant(colour="marine", size="M")
    assert item.description == "STEEDS Poloshirt Lilli" and item.current_price.amount_minor == 2995


def test_hidden_prices_leave_out_current_price(db: Database, folder: Path) -> None:
    """With prices hidden no reorder item carries a price."""
    resp = reorder(db, folder, show_prices=False)
    assert resp.items and not any(i.HasField("current_price") for i in resp.items)


def test_foreign_order_is_not_found(db: Database, folder: Path) -> None:
    """Reordering from another customer's order is NotFound like a missing order."""
    with pytest.raises(NotFound, match="order not found"):
        reorder(db, folder, customer="4712")
    with pytest.raises(NotFound, match="order not found"):
        reorder(db, folder, order="000000001")

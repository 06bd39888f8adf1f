"""ListOrders against the demo ERP: order, paging tokens, filters, date range, flags, query count."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from onlineconnect.agent.erp.db import Database
from onlineconnect.agent.orders import OrderQueries, OrderSettings, Visibility
from onlineconnect.agent.orders.testing import context, demo_database
from onlineconnect.errors import InvalidArgument
from onlineconnect.testing.fakes import CountingDatabase
from onlineconnect.v1 import orders_pb2 as pb

ALL_4711 = [
    "091805377",
    "091805002",
    "091801244",
    "091795530",
    "091790117",
    "091782005",
    "091650002",
    "091650001",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("erp")


@pytest.fixture(scope="module")
def db(folder: Path) -> Database:
    """The demo ERP, built once for this module (the queries only read)."""
    return demo_database(folder)


def queries(db: Database, folder: Path, **vis: bool) -> OrderQueries:
    return OrderQueries(db, OrderSettings(archive_root=folder / "archive", visibility=Visibility(**vis)))


def listing(db: Database, folder: Path, vis: Mapping[str, bool] | None = None, **fields: Any) -> pb.ListOrdersResponse:
    fields.setdefault("customer_number", "4711")
    return queries(db, folder, **(vis or {})).list_orders(pb.ListOrdersRequest(**fields), context())


def numbers(resp: pb.ListOrdersResponse) -> list[str]:
    return [o.order_number for o in resp.orders]


def test_lists_every_channel_newest_first(db: Database, folder: Path) -> None:
    """All of 4711's orders from web, phone, letter and fax, by date then number descending."""
    resp = listing(db, folder)
    assert numbers(resp) == ALL_4711 and resp.next_page_token == ""
    assert {o.channel for o in resp.orders} == {pb.CHANNEL_WEB, pb.CHANNEL_PHONE, pb.CHANNEL_LETTER, pb.CHANNEL_FAX}


def test_summary_fields_of_sheet_order(db: Database, folder: Path) -> None:
    """The sheet's entry carries total, status, shop number, delivery date and all three flags."""
    entry = next(o for o in listing(db, folder).orders if o.order_number == "091782005")
    assert entry.order_date == "2014-07-13" and entry.total.decimal == "114.45"
    assert entry.status == pb.ORDER_STATUS_DELIVERED and entry.status_label == "Ausgeliefert"
    assert entry.shop_order_number == "140511214402704" and entry.delivered_on == "2014-07-14"
    assert entry.has_invoice and entry.has_tracking and entry.reorderable


def test_summary_flags_follow_data(db: Database, folder: Path) -> None:
    """An order without invoice or parcel has both flags false."""
    entry = next(o for o in listing(db, folder).orders if o.order_number == "091805002")
    assert not entry.has_invoice and not entry.has_tracking and entry.reorderable


def test_list_and_get_agree(db: Database, folder: Path) -> None:
    """Each history entry equals the summary GetOrder returns for the same order."""
    q = queries(db, folder)
    for entry in listing(db, folder).orders:
        req = pb.GetOrderRequest(customer_number="4711", order_number=entry.order_number)
        assert q.get_order(req, context()).order.summary == entry


def test_pages_walk_the_whole_history(db: Database, folder: Path) -> None:
    """Pages of 3 follow each other with tokens, with no gap or repeat, the last one without a token."""
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        resp = listing(db, folder, page_size=3, page_token=token)
        assert len(resp.orders) <= 3
        seen += numbers(resp)
        pages += 1
        token = resp.next_page_token
        if not token:
            break
    assert seen == ALL_4711 and pages == 3


def test_keyset_breaks_same_day_ties(db: Database, folder: Path) -> None:
    """Two orders of the same day split over two pages both appear, in number order descending."""
    first = listing(db, folder, page_size=7)
    second = listing(db, folder, page_size=7, page_token=first.next_page_token)
    assert numbers(first)[-1] == "091650002" and numbers(second) == ["091650001"]


def test_page_size_zero_is_default(db: Database, folder: Path) -> None:
    """page_size 0 uses the default of 20; 100 is the largest allowed."""
    assert numbers(listing(db, folder, page_size=0)) == ALL_4711
    assert numbers(listing(db, folder, page_size=100)) == ALL_4711


@pytest.mark.parametrize("size", [101, 1000, -1])
def test_page_size_out_of_range_is_invalid(db: Database, folder: Path, size: int) -> None:
    """A page size above 100 or negative is refused naming page_size."""
    with pytest.raises(InvalidArgument, match="page_size"):
        listing(db, folder, page_size=size)


def test_tampered_token_is_invalid(db: Database, folder: Path) -> None:
    """A token whose cursor was edited is refused naming page_token."""
    token = listing(db, folder, page_size=2).next_page_token
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    body["n"] = "999999999"
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    with pytest.raises(InvalidArgument, match="page_token"):
        listing(db, folder, page_size=2, page_token=forged)


@pytest.mark.parametrize("token", ["garbage!", "e30", "x" * 600, "bm90IGpzb24"])
def test_malformed_token_is_invalid(db: Database, folder: Path, token: str) -> None:
    """Garbage, empty JSON, overlong or non-JSON tokens are refused naming page_token."""
    with pytest.raises(InvalidArgument, match="page_token"):
        listing(db, folder, page_token=token)


def test_token_of_another_customer_is_invalid(db: Database, folder: Path) -> None:
    """4711's token is refused when 4712 presents it."""
    token = listing(db, folder, page_size=2).next_page_token
    with pytest.raises(InvalidArgument, match="page_token"):
        listing(db, folder, customer_number="4712", page_size=2, page_token=token)


def test_token_with_other_filters_is_invalid(db: Database, folder: Path) -> None:
    """A token is only valid with the filter and dates it was issued for."""
    token = listing(db, folder, page_size=2).next_page_token
    with pytest.raises(InvalidArgument, match="page_token"):
        listing(db, folder, page_size=2, page_token=token, filter=pb.ORDER_FILTER_OPEN)
    with pytest.raises(InvalidArgument, match="page_token"):
        listing(db, folder, page_size=2, page_token=token, from_date="2014-01-01")


def test_open_filter(db: Database, folder: Path) -> None:
    """OPEN lists the orders still in progress: processing, held, partially delivered, return open."""
    resp = listing(db, folder, filter=pb.ORDER_FILTER_OPEN)
    assert numbers(resp) == ["091805377", "091805002", "091795530", "091790117"]


def test_historical_filter(db: Database, folder: Path) -> None:
    """HISTORICAL lists the finished orders: delivered and exchange shipped."""
    resp = listing(db, folder, filter=pb.ORDER_FILTER_HISTORICAL)
    assert numbers(resp) == ["091801244", "091782005", "091650002", "091650001"]


def test_filtered_pages(db: Database, folder: Path) -> None:
    """Paging within a filter returns the filtered orders only, page after page."""
    first = listing(db, folder, filter=pb.ORDER_FILTER_HISTORICAL, page_size=3)
    second = listing(db, folder, filter=pb.ORDER_FILTER_HISTORICAL, page_size=3, page_token=first.next_page_token)
    assert numbers(first) + numbers(second) == ["091801244", "091782005", "091650002", "091650001"]
    assert second.next_page_token == ""


def test_date_range_is_inclusive(db: Database, folder: Path) -> None:
    """from_date and to_date bound the order date inclusively."""
    resp = listing(db, folder, from_date="2014-07-13", to_date="2014-10-05")
    assert numbers(resp) == ["091795530", "091790117", "091782005"]
    assert numbers(listing(db, folder, to_date="2013-12-31")) == ["091650002", "091650001"]


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"from_date": "13.07.2014"}, "from_date"),
        ({"to_date": "2014-02-30"}, "to_date"),
        ({"from_date": "2014-12-01", "to_date": "2014-01-01"}, "from_date"),
        ({"customer_number": ""}, "customer_number"),
        ({"filter": 7}, "filter"),
    ],
)
def test_invalid_fields(db: Database, folder: Path, fields: dict[str, Any], name: str) -> None:
    """Malformed dates, a reversed range, a missing customer or an unknown filter name the field."""
    with pytest.raises(InvalidArgument, match=name):
        listing(db, folder, **fields)


def test_other_customer_sees_only_own_orders(db: Database, folder: Path) -> None:
    """4712's history holds 4712's orders only; an unknown customer has an empty history."""
    assert numbers(listing(db, folder, customer_number="4712")) == ["091806000", "091799001", "091783100"]
    assert listing(db, folder, customer_number="9999").orders == []


def test_hidden_prices_and_groups_in_history(db: Database, folder: Path) -> None:
    """Hidden prices drop totals; hidden invoices and parcels clear their flags."""
    vis = {"show_prices": False, "show_invoices": False, "show_shipments": False}
    for entry in listing(db, folder, vis=vis).orders:
        assert not entry.HasField("total") and not entry.has_invoice and not entry.has_tracking


def test_list_runs_a_fixed_number_of_queries(db: Database, folder: Path) -> None:
    """ListOrders runs four queries whether the page holds two orders or eight."""
    counting = CountingDatabase(db)
    q = OrderQueries(counting, OrderSettings(archive_root=folder / "archive"))
    q.list_orders(pb.ListOrdersRequest(customer_number="4711", page_size=2), context())
    small = len(counting.calls)
    counting.calls.clear()
    q.list_orders(pb.ListOrdersRequest(customer_number="4711"), context())
    assert small == len(counting.calls) == 4

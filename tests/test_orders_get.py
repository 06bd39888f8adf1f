"""GetOrder against the demo ERP (SQLite, default mapping): fields, status, privacy, visibility, query count."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from onlineconnect.agent.erp.db import Database, validate
from onlineconnect.agent.orders import OrderQueries, OrderSettings, Visibility
from onlineconnect.agent.orders.testing import context, demo_database
from onlineconnect.errors import DeadlineExceeded, InvalidArgument, NotFound
from onlineconnect.testing.fakes import CountingDatabase
from onlineconnect.v1 import common_pb2
from onlineconnect.v1 import orders_pb2 as pb

SHEET = "091782005"


@dataclasses.dataclass
class Erp:
    db: Database
    folder: Path

    def queries(self, **vis: bool) -> OrderQueries:
        settings = OrderSettings(archive_root=self.folder / "archive", visibility=Visibility(**vis))
        return OrderQueries(self.db, settings)


@pytest.fixture(scope="module")
def erp(tmp_path_factory: pytest.TempPathFactory) -> Erp:
    """The demo ERP, built once for this module (the queries only read)."""
    folder = tmp_path_factory.mktemp("erp")
    return Erp(demo_database(folder), folder)


def get(erp: Erp, number: str = SHEET, customer: str = "4711", lang: int = 0, **vis: bool) -> pb.Order:
    req = pb.GetOrderRequest(customer_number=customer, order_number=number, language=lang)
    return erp.queries(**vis).get_order(req, context()).order


def test_default_mapping_validates(erp: Erp) -> None:
    """Every orders_* query of the default mapping prepares against the demo schema with all spec columns."""
    assert [p for p in validate(erp.db) if "[orders_" in p] == []


def test_sheet_order_header(erp: Erp) -> None:
    """The sheet's order carries number, date, total 114,45 €, delivery date, shop number and flags."""
    s = get(erp).summary
    assert (s.order_number, s.order_date, s.delivered_on) == (SHEET, "2014-07-13", "2014-07-14")
    assert s.total == common_pb2.Money(amount_minor=11445, currency="EUR", decimal="114.45")
    assert s.shop_order_number == "140511214402704"
    assert s.channel == pb.CHANNEL_WEB
    assert s.status == pb.ORDER_STATUS_DELIVERED and s.status_label == "Ausgeliefert"
    assert s.has_invoice and s.has_tracking and s.reorderable


def test_sheet_order_lines(erp: Erp) -> None:
    """The five lines are the sheet's, in order, with types, quantities and statuses."""
    lines = get(erp).lines
    assert [(line.line_number, line.quantity_ordered, line.article_number, line.description) for line in lines] == [
        (1, 2, "6392", "Ochsenziemer XL"),
        (2, 1, "6393", "Rinderhaut-Streifen XL"),
        (3, 1, "SY 1", "Versandkostenfrei"),
        (4, 1, "12009", "Gesamtkatalog 2014"),
        (5, 2, "22030", "Kleine Belohnung für Ihren Hund"),
    ]
    assert [line.line_type for line in lines] == [
        pb.LINE_TYPE_PRODUCT,
        pb.LINE_TYPE_PRODUCT,
        pb.LINE_TYPE_SHIPPING_FEE,
        pb.LINE_TYPE_CATALOGUE,
        pb.LINE_TYPE_PRODUCT,
    ]
    assert [line.reorderable for line in lines] == [True, True, False, False, True]
    assert lines[0].status == pb.LINE_STATUS_DELIVERED and lines[0].quantity_invoiced == 2
    assert lines[2].status == pb.LINE_STATUS_UNSPECIFIED and lines[2].status_label == ""
    assert sum(line.line_total.amount_minor for line in lines) == 11445
    assert lines[0].unit_price.decimal == "39.95" and lines[0].line_total.decimal == "79.90"


def test_sheet_order_totals(erp: Erp) -> None:
    """Goods total is the product lines' sum; shipping total is zero for "Versandkostenfrei"."""
    order = get(erp)
    assert order.goods_total.amount_minor == 11445 and order.goods_total.decimal == "114.45"
    assert order.HasField("shipping_total") and order.shipping_total.decimal == "0.00"


def test_sheet_order_shipment_tracking(erp: Erp) -> None:
    """The DHL parcel 056326500434 carries a ready tracking link with the parcel number."""
    (parcel,) = get(erp).shipments
    assert parcel.carrier == "DHL" and parcel.parcel_number == "056326500434"
    assert parcel.tracking_url == (
        "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?lang=de&idc=056326500434"
    )
    assert (parcel.shipped_on, parcel.delivered_on) == ("2014-07-13", "2014-07-14")
    assert parcel.direction == pb.SHIPMENT_DIRECTION_OUTBOUND
    assert [(i.line_number, i.quantity) for i in parcel.items] == [(1, 2), (2, 1), (4, 1), (5, 2)]


def test_sheet_order_invoice_document(erp: Erp) -> None:
    """The sheet's order has one downloadable invoice of 114,45 €."""
    (doc,) = get(erp).documents
    assert doc.type == pb.DOCUMENT_TYPE_INVOICE and doc.document_id and doc.number
    assert doc.amount.amount_minor == 11445 and doc.pdf_available and doc.date == "2014-07-13"


def test_sheet_order_history(erp: Erp) -> None:
    """The status history runs oldest first from received to delivered, with labels."""
    history = get(erp, lang=common_pb2.LANGUAGE_EN).history
    assert history[0].code == "received" and history[-1].code == "delivered"
    assert history[-1].label == "Delivered"
    assert [e.at.seconds for e in history] == sorted(e.at.seconds for e in history)


def test_labels_follow_language(erp: Erp) -> None:
    """English is used when asked; unspecified uses the German default."""
    assert get(erp, lang=common_pb2.LANGUAGE_EN).summary.status_label == "Delivered"
    assert get(erp, lang=common_pb2.LANGUAGE_DE).summary.status_label == "Ausgeliefert"
    assert get(erp).summary.status_label == "Ausgeliefert"


@pytest.mark.parametrize(
    ("number", "customer", "status"),
    [
        ("091790117", "4711", pb.ORDER_STATUS_PARTIALLY_DELIVERED),
        ("091795530", "4711", pb.ORDER_STATUS_RETURN_IN_PROGRESS),
        ("091801244", "4711", pb.ORDER_STATUS_EXCHANGE_SHIPPED),
        ("091805002", "4711", pb.ORDER_STATUS_IN_PROCESSING),
        ("091805377", "4711", pb.ORDER_STATUS_IN_PROCESSING),
        ("091783100", "4712", pb.ORDER_STATUS_CANCELLED),
        ("091806000", "4712", pb.ORDER_STATUS_BACKORDERED),
        ("091770010", "4713", pb.ORDER_STATUS_RETURNED),
        ("091806100", "4713", pb.ORDER_STATUS_RECEIVED),
    ],
)
def test_demo_orders_cover_statuses(erp: Erp, number: str, customer: str, status: int) -> None:
    """Each demo order derives the status it was seeded for."""
    assert get(erp, number, customer).summary.status == status


def test_partial_delivery_details(erp: Erp) -> None:
    """The partially delivered phone order shows two parcels, a backordered line with its expected date."""
    order = get(erp, "091790117")
    assert order.summary.channel == pb.CHANNEL_PHONE and order.summary.shop_order_number == ""
    assert {s.carrier for s in order.shipments} == {"DPD", "GLS"}
    backordered = [line for line in order.lines if line.status == pb.LINE_STATUS_BACKORDERED]
    assert [(line.article_number, line.expected_delivery_date) for line in backordered] == [("5120", "2014-09-20")]
    assert order.summary.delivered_on == ""


def test_return_in_progress_details(erp: Erp) -> None:
    """The authorized return lists its line, reason and state; the line reads RETURN_REQUESTED."""
    order = get(erp, "091795530")
    (ret,) = order.returns
    assert ret.state == pb.RETURN_STATE_AUTHORIZED and ret.state_label == "Genehmigt"
    assert ret.reason == "Größe passt nicht" and [(rl.line_number, rl.quantity) for rl in ret.lines] == [(1, 1)]
    assert order.lines[0].status == pb.LINE_STATUS_RETURN_REQUESTED
    assert order.lines[0].variant == pb.Variant(colour="marine", size="M")
    assert order.shipments[0].carrier == "HERMES" and order.shipments[0].tracking_url.endswith("#H1002003004005")


def test_exchange_carries_replacement_shipment(erp: Erp) -> None:
    """The exchange names the replacement SKU and its shipped UPS parcel; the return parcel is listed too."""
    order = get(erp, "091801244")
    (ret,) = order.returns
    assert ret.resolution == pb.RETURN_RESOLUTION_REPLACEMENT and ret.state == pb.RETURN_STATE_COMPLETED
    assert ret.lines[0].replacement_sku == "851888-M-KI"
    assert ret.replacement_shipment.carrier == "UPS" and ret.replacement_shipment.shipped_on == "2014-11-19"
    assert "1Z999AA10123456791" in ret.replacement_shipment.tracking_url
    assert [s.direction for s in order.shipments].count(pb.SHIPMENT_DIRECTION_RETURN) == 1


def test_hold_shown_only_when_internal_status_visible(erp: Erp) -> None:
    """The held order reads ON_HOLD with its event only when the merchant shows internal status."""
    hidden = get(erp, "091805377")
    assert hidden.summary.status == pb.ORDER_STATUS_IN_PROCESSING
    assert "on_hold" not in [e.code for e in hidden.history]
    shown = get(erp, "091805377", show_internal_status=True)
    assert shown.summary.status == pb.ORDER_STATUS_ON_HOLD and shown.summary.status_label == "Angehalten"
    assert "on_hold" in [e.code for e in shown.history]


def test_allocated_line_reads_lieferbar(erp: Erp) -> None:
    """An allocated, not yet shipped line reads "Lieferbar"."""
    line = get(erp, "091805002").lines[0]
    assert line.status == pb.LINE_STATUS_AVAILABLE and line.status_label == "Lieferbar"


def test_foreign_order_is_not_found_like_missing(erp: Erp) -> None:
    """4712 asking for 4711's order gets exactly the message of a missing order."""
    with pytest.raises(NotFound) as foreign:
        get(erp, SHEET, "4712")
    with pytest.raises(NotFound) as missing:
        get(erp, "000000000", "4712")
    assert foreign.value.message == missing.value.message == "order not found"


@pytest.mark.parametrize(
    ("customer", "number", "field"),
    [
        ("", SHEET, "customer_number"),
        ("4711", "", "order_number"),
        ("4711\n", SHEET, "customer_number"),
        ("4711", "0" * 33, "order_number"),
        ("4711", "09178\x002005", "order_number"),
    ],
)
def test_bad_numbers_are_invalid_argument(erp: Erp, customer: str, number: str, field: str) -> None:
    """Missing, overlong or control-character numbers are refused naming the field."""
    with pytest.raises(InvalidArgument, match=field):
        get(erp, number, customer)


def test_hidden_prices_remove_every_money_field(erp: Erp) -> None:
    """With prices hidden no Money field is set anywhere in the order."""
    order = get(erp, show_prices=False)
    assert not order.summary.HasField("total")
    assert not order.HasField("goods_total") and not order.HasField("shipping_total")
    assert not any(line.HasField("unit_price") or line.HasField("line_total") for line in order.lines)
    assert not any(doc.HasField("amount") for doc in order.documents)
    assert "amount_minor" not in str(order)


def test_hidden_groups_are_empty(erp: Erp) -> None:
    """Hidden invoices, parcels, returns and history leave their groups empty and flags false."""
    order = get(
        erp,
        "091801244",
        show_invoices=False,
        show_shipments=False,
        show_returns=False,
        show_status_history=False,
    )
    assert not order.documents and not order.shipments and not order.returns and not order.history
    assert not order.summary.has_invoice and not order.summary.has_tracking
    assert order.summary.status == pb.ORDER_STATUS_EXCHANGE_SHIPPED


def test_hidden_shipments_keep_replacement_out(erp: Erp) -> None:
    """With parcels hidden, a visible exchange carries no replacement parcel."""
    (ret,) = get(erp, "091801244", show_shipments=False).returns
    assert not ret.HasField("replacement_shipment")


def test_get_order_runs_a_fixed_number_of_queries(erp: Erp) -> None:
    """GetOrder runs six queries whatever the number of lines, each with the call's remaining time."""
    counting = CountingDatabase(erp.db)
    queries = OrderQueries(counting, OrderSettings(archive_root=erp.folder / "archive"))
    counts = []
    for number, customer in ((SHEET, "4711"), ("091806100", "4713"), ("091799001", "4712"), ("091801244", "4711")):
        counting.calls.clear()
        queries.get_order(pb.GetOrderRequest(customer_number=customer, order_number=number), context())
        counts.append(len(counting.calls))
        assert all(t is not None and t > 0 for _, t in counting.calls)
    assert counts == [6, 6, 6, 6]


def test_foreign_order_stops_after_header(erp: Erp) -> None:
    """A missing or foreign order costs one query and reads nothing else."""
    counting = CountingDatabase(erp.db)
    queries = OrderQueries(counting, OrderSettings(archive_root=erp.folder / "archive"))
    with pytest.raises(NotFound):
        queries.get_order(pb.GetOrderRequest(customer_number="4713", order_number=SHEET), context())
    assert [name for name, _ in counting.calls] == ["orders_header"]


def test_passed_deadline_stops_before_querying(erp: Erp) -> None:
    """A call whose deadline has passed raises DeadlineExceeded without touching the ERP."""
    counting = CountingDatabase(erp.db)
    queries = OrderQueries(counting, OrderSettings(archive_root=erp.folder / "archive"))
    with pytest.raises(DeadlineExceeded):
        queries.get_order(pb.GetOrderRequest(customer_number="4711", order_number=SHEET), context(-1.0))
    assert counting.calls == []

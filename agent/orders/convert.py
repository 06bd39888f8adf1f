"""Builders from mapped query rows (dicts keyed by the spec's column names) to the API's order messages.

Every function here is pure: rows in, protobuf out (the one file-system question, whether an invoice PDF can be
served, comes in as a function). The ERP's code words (channel "phone", line type "catalogue", return state
"authorized") are mapped to the API enums in one table each; an unknown word maps to UNSPECIFIED rather than
failing the whole answer, because a merchant's ERP may know more kinds than the API does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from onlineconnect.v1 import orders_pb2 as pb

from . import labels
from .settings import OrderSettings, carrier_code
from .status import OPEN_RETURN_STATES, LineFacts, ReturnFacts, line_status
from .values import iso_date, money, qty, text, timestamp

Row = Mapping[str, Any]

CHANNELS: dict[str, pb.Channel] = {
    "web": pb.CHANNEL_WEB,
    "shop": pb.CHANNEL_WEB,
    "phone": pb.CHANNEL_PHONE,
    "letter": pb.CHANNEL_LETTER,
    "fax": pb.CHANNEL_FAX,
    "store": pb.CHANNEL_STORE,
    "email": pb.CHANNEL_EMAIL,
    "marketplace": pb.CHANNEL_MARKETPLACE,
}
LINE_TYPES: dict[str, pb.LineType] = {
    "product": pb.LINE_TYPE_PRODUCT,
    "shipping_fee": pb.LINE_TYPE_SHIPPING_FEE,
    "surcharge": pb.LINE_TYPE_SURCHARGE,
    "voucher": pb.LINE_TYPE_VOUCHER,
    "free_item": pb.LINE_TYPE_FREE_ITEM,
    "catalogue": pb.LINE_TYPE_CATALOGUE,
    "service": pb.LINE_TYPE_SERVICE,
}
DOCUMENT_TYPES: dict[str, pb.DocumentType] = {
    "invoice": pb.DOCUMENT_TYPE_INVOICE,
    "credit_note": pb.DOCUMENT_TYPE_CREDIT_NOTE,
}
RETURN_STATES: dict[str, pb.ReturnState] = {
    "requested": pb.RETURN_STATE_REQUESTED,
    "authorized": pb.RETURN_STATE_AUTHORIZED,
    "received": pb.RETURN_STATE_RECEIVED,
    "completed": pb.RETURN_STATE_COMPLETED,
    "rejected": pb.RETURN_STATE_REJECTED,
    "cancelled": pb.RETURN_STATE_CANCELLED,
}
RESOLUTIONS: dict[str, pb.ReturnResolution] = {
    "refund": pb.RETURN_RESOLUTION_REFUND,
    "credit_note": pb.RETURN_RESOLUTION_CREDIT_NOTE,
    "replacement": pb.RETURN_RESOLUTION_REPLACEMENT,
}
DIRECTIONS: dict[str, pb.ShipmentDirection] = {
    "outbound": pb.SHIPMENT_DIRECTION_OUTBOUND,
    "return": pb.SHIPMENT_DIRECTION_RETURN,
}
SHIPPING_TYPES = frozenset({"shipping_fee", "surcharge"})


def word(value: Any) -> str:
    """An ERP code word, trimmed and lower-case ("Phone " → "phone")."""
    return text(value).lower()


def is_reorderable(line_type: str, article_status: Any) -> bool:
    """A line can go back into the cart if it is a product line whose article is still sold."""
    return line_type == "product" and word(article_status) == "active"


def line_facts(row: Row, return_open: int = 0) -> LineFacts:
    """Reads one order line's quantities (columns ``qty_*`` and ``line_type``)."""
    return LineFacts(
        line_type=word(row.get("line_type")) or "product",
        ordered=qty(row.get("qty_ordered")),
        allocated=qty(row.get("qty_allocated")),
        invoiced=qty(row.get("qty_invoiced")),
        shipped=qty(row.get("qty_shipped")),
        delivered=qty(row.get("qty_delivered")),
        backordered=qty(row.get("qty_backordered")),
        cancelled=qty(row.get("qty_cancelled")),
        returned=qty(row.get("qty_returned")),
        return_open=return_open,
    )


def return_facts(row: Row) -> ReturnFacts:
    """Reads one return's state (columns ``state``, ``resolution``, ``replacement_shipped_on``)."""
    return ReturnFacts(
        state=word(row.get("state")),
        resolution=word(row.get("resolution")),
        replacement_shipped=bool(iso_date(row.get("replacement_shipped_on"))),
    )


def group(rows: Iterable[Row], key: str) -> dict[str, list[Row]]:
    """Groups rows by a text column, keeping first-seen order of the groups and the rows."""
    out: dict[str, list[Row]] = {}
    for row in rows:
        out.setdefault(text(row.get(key)), []).append(row)
    return out


def open_return_quantities(return_rows: Iterable[Row]) -> dict[int, int]:
    """Units per line number that sit in returns which are still open (for RETURN_REQUESTED)."""
    out: dict[int, int] = {}
    for row in return_rows:
        if word(row.get("state")) in OPEN_RETURN_STATES and row.get("line_number") is not None:
            n = int(row["line_number"])
            out[n] = out.get(n, 0) + qty(row.get("quantity"))
    return out


def summary(
    header: Row,
    status: pb.OrderStatus,
    lang: str,
    *,
    has_invoice: bool,
    has_tracking: bool,
    reorderable: bool,
) -> pb.OrderSummary:
    """Builds the order history entry from a header row (``orders_header`` / ``orders_list`` columns)."""
    return pb.OrderSummary(
        order_number=text(header.get("order_number")),
        order_date=iso_date(header.get("order_date")),
        channel=CHANNELS.get(word(header.get("channel")), pb.CHANNEL_UNSPECIFIED),
        total=money(qty(header.get("total_minor")), text(header.get("currency")) or "EUR"),
        status=status,
        status_label=labels.order_status_label(status, lang),
        shop_order_number=text(header.get("shop_order_number")),
        delivered_on=iso_date(header.get("delivered_on")),
        has_invoice=has_invoice,
        has_tracking=has_tracking,
        reorderable=reorderable,
    )


def order_line(row: Row, facts: LineFacts, lang: str, currency: str) -> pb.OrderLine:
    """Builds one order line from an ``orders_lines`` row and its facts."""
    status = line_status(facts)
    line = pb.OrderLine(
        line_number=int(row["line_number"]),
        line_type=LINE_TYPES.get(facts.line_type, pb.LINE_TYPE_UNSPECIFIED),
        article_number=text(row.get("article_number")),
        description=text(row.get("description")),
        sku=text(row.get("sku")),
        unit_price=money(qty(row.get("unit_price_minor")), currency),
        line_total=money(qty(row.get("line_total_minor")), currency),
        quantity_ordered=facts.ordered,
        quantity_invoiced=facts.invoiced,
        quantity_shipped=facts.shipped,
        quantity_backordered=facts.backordered,
        quantity_cancelled=facts.cancelled,
        quantity_returned=facts.returned,
        status=status,
        status_label=labels.line_status_label(status, lang),
        reorderable=is_reorderable(facts.line_type, row.get("article_status")),
    )
    colour, size = text(row.get("colour")), text(row.get("size"))
    if colour or size:
        line.variant.CopyFrom(pb.Variant(colour=colour, size=size))
    # A delivery date only means something for quantity that is still to come.
    if status in (
        pb.LINE_STATUS_OPEN,
        pb.LINE_STATUS_AVAILABLE,
        pb.LINE_STATUS_BACKORDERED,
        pb.LINE_STATUS_PARTIALLY_SHIPPED,
    ):
        line.expected_delivery_date = iso_date(row.get("expected_date"))
    return line


def shipments(rows: Iterable[Row], settings: OrderSettings) -> list[pb.Shipment]:
    """Builds parcels from ``orders_shipments`` rows (one row per parcel and carried line)."""
    out: list[pb.Shipment] = []
    for shipment_id, parcel_rows in group(rows, "shipment_id").items():
        first = parcel_rows[0]
        parcel = text(first.get("parcel_number"))
        shipment = pb.Shipment(
            shipment_id=shipment_id,
            carrier=carrier_code(text(first.get("carrier"))),
            parcel_number=parcel,
            tracking_url=settings.tracking_url(text(first.get("carrier")), parcel),
            shipped_on=iso_date(first.get("shipped_on")),
            delivered_on=iso_date(first.get("delivered_on")),
            direction=DIRECTIONS.get(word(first.get("direction")), pb.SHIPMENT_DIRECTION_UNSPECIFIED),
        )
        for row in parcel_rows:
            if row.get("line_number") is not None:
                shipment.items.add(line_number=int(row["line_number"]), quantity=qty(row.get("quantity")))
        out.append(shipment)
    return out


def documents(rows: Iterable[Row], servable: Callable[[Any], bool]) -> list[pb.Document]:
    """Builds invoices and credit notes from ``orders_documents`` rows.

    Args:
        rows: The rows.
        servable: Says whether GetInvoicePdf would serve a row's ``pdf_path`` (see ``invoices.servable``); only
            then is ``pdf_available`` set.
    """
    return [
        pb.Document(
            document_id=text(row.get("document_id")),
            type=DOCUMENT_TYPES.get(word(row.get("doc_type")), pb.DOCUMENT_TYPE_UNSPECIFIED),
            number=text(row.get("number")),
            date=iso_date(row.get("doc_date")),
            amount=money(qty(row.get("amount_minor")), text(row.get("currency")) or "EUR"),
            pdf_available=servable(row.get("pdf_path")),
        )
        for row in rows
    ]


def returns(rows: Iterable[Row], parcels: Mapping[str, pb.Shipment], lang: str) -> list[pb.Return]:
    """Builds returns from ``orders_returns`` rows (one row per return and line); ``parcels`` by shipment id."""
    out: list[pb.Return] = []
    for return_id, return_rows in group(rows, "return_id").items():
        first = return_rows[0]
        state = RETURN_STATES.get(word(first.get("state")), pb.RETURN_STATE_UNSPECIFIED)
        item = pb.Return(
            return_id=return_id,
            state=state,
            state_label=labels.return_state_label(state, lang),
            requested_on=iso_date(first.get("requested_on")),
            reason=text(first.get("reason")),
            resolution=RESOLUTIONS.get(word(first.get("resolution")), pb.RETURN_RESOLUTION_UNSPECIFIED),
        )
        for row in return_rows:
            if row.get("line_number") is not None:
                item.lines.add(
                    line_number=int(row["line_number"]),
                    quantity=qty(row.get("quantity")),
                    replacement_article_number=text(row.get("replacement_article_number")),
                    replacement_sku=text(row.get("replacement_sku")),
                )
        replacement = parcels.get(text(first.get("replacement_shipment_id")))
        if replacement is not None and replacement.shipped_on:
            item.replacement_shipment.CopyFrom(replacement)
        out.append(item)
    return out


def history(rows: Iterable[Row], lang: str, *, show_internal: bool) -> list[pb.StatusEvent]:
    """Builds the status history from ``orders_events`` rows, dropping internal steps unless allowed."""
    out: list[pb.StatusEvent] = []
    for row in rows:
        code = word(row.get("code"))
        if not code or (code in labels.INTERNAL_EVENTS and not show_internal):
            continue
        out.append(pb.StatusEvent(at=timestamp(row.get("at")), code=code, label=labels.event_label(code, lang)))
    return out

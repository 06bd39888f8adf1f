"""The ERP queries of the order inquiry, declared to the mapping loader at import time.

Each constant is a query name in ``agent/erp/mapping/orders.toml``. The columns listed are the ones the order code
reads; a merchant's mapping may return more but never fewer (``agent check`` reports missing ones).
"""

from __future__ import annotations

from ..erp.mapping import register

# The order history window shared by the list queries: one customer, optional date bounds and a keyset cursor.
_WINDOW = ("customer_number", "from_date", "to_date", "after_date", "after_number")
_ONE_ORDER = ("customer_number", "order_number")
_QTY = (
    "qty_ordered",
    "qty_allocated",
    "qty_invoiced",
    "qty_shipped",
    "qty_delivered",
    "qty_backordered",
    "qty_cancelled",
    "qty_returned",
)
_HEADER = (
    "order_number",
    "order_date",
    "channel",
    "shop_order_number",
    "currency",
    "total_minor",
    "processing_started",
    "on_hold",
    "cancelled",
    "delivered_on",
)

LIST = register(
    "orders_list",
    params=_WINDOW,
    columns=(*_HEADER, "document_count"),
    doc="Order history headers of one customer, newest first (order date, then order number, descending)",
).name
LIST_LINES = register(
    "orders_list_lines",
    params=_WINDOW,
    columns=("order_number", "line_number", "line_type", *_QTY, "article_status"),
    doc="Line quantities of the order history window, for the derived status and the reorder flag",
).name
LIST_SHIPMENTS = register(
    "orders_list_shipments",
    params=_WINDOW,
    columns=("order_number", "carrier", "parcel_number"),
    doc="Parcels of the order history window, for the tracking flag",
).name
LIST_RETURNS = register(
    "orders_list_returns",
    params=_WINDOW,
    columns=("order_number", "return_id", "state", "resolution", "replacement_shipped_on"),
    doc="Returns of the order history window, for the derived status",
).name
HEADER = register(
    "orders_header",
    params=_ONE_ORDER,
    columns=_HEADER,
    doc="Header of one order of one customer; no row for a missing or foreign order",
).name
LINES = register(
    "orders_lines",
    params=_ONE_ORDER,
    columns=(
        "line_number",
        "article_number",
        "sku",
        "description",
        "line_type",
        "colour",
        "size",
        *_QTY,
        "unit_price_minor",
        "line_total_minor",
        "expected_date",
        "article_status",
    ),
    doc="Lines of one order with quantities, prices and the article's current sale status",
).name
SHIPMENTS = register(
    "orders_shipments",
    params=_ONE_ORDER,
    columns=(
        "shipment_id",
        "carrier",
        "parcel_number",
        "direction",
        "shipped_on",
        "delivered_on",
        "line_number",
        "quantity",
    ),
    doc="Parcels of one order, one row per parcel and carried line",
).name
DOCUMENTS = register(
    "orders_documents",
    params=_ONE_ORDER,
    columns=("document_id", "doc_type", "number", "doc_date", "amount_minor", "currency", "pdf_path"),
    doc="Invoices and credit notes of one order",
).name
RETURNS = register(
    "orders_returns",
    params=_ONE_ORDER,
    columns=(
        "return_id",
        "state",
        "resolution",
        "requested_on",
        "reason",
        "replacement_shipment_id",
        "replacement_shipped_on",
        "line_number",
        "quantity",
        "replacement_article_number",
        "replacement_sku",
    ),
    doc="Returns and exchanges of one order, one row per return and returned line",
).name
EVENTS = register(
    "orders_events",
    params=_ONE_ORDER,
    columns=("at", "code"),
    doc="Status history of one order, oldest first",
).name
INVOICE = register(
    "orders_invoice",
    params=(*_ONE_ORDER, "document_id"),
    columns=("document_id", "doc_type", "number", "pdf_path"),
    doc="One archived document of one order of one customer; no row for a missing or foreign one",
).name
REORDER = register(
    "orders_reorder",
    params=_ONE_ORDER,
    columns=(
        "line_number",
        "line_type",
        "article_number",
        "sku",
        "qty_ordered",
        "current_article_number",
        "article_name",
        "article_status",
        "currency",
        "current_sku",
        "colour",
        "size",
        "current_price_minor",
        "successor_number",
        "successor_name",
    ),
    doc="Lines of one order with the article's current master data, variant and successor",
).name
GUEST = register(
    "orders_guest",
    params=("order_number",),
    columns=("order_number", "customer_number", "postcode", "last_name", "email"),
    doc="The order found by its number alone, one row per address (invoice, delivery) with postcode, last name and "
    "the customer's e-mail, for the guest order lookup; no row for an unknown order",
).name

ALL = (
    LIST,
    LIST_LINES,
    LIST_SHIPMENTS,
    LIST_RETURNS,
    HEADER,
    LINES,
    SHIPMENTS,
    DOCUMENTS,
    RETURNS,
    EVENTS,
    INVOICE,
    REORDER,
    GUEST,
)

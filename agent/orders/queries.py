"""The order inquiry on the agent: answers ListOrders, GetOrder, GetInvoicePdf and GetReorderItems from the ERP.

Every method is synchronous and runs in a worker thread. Each runs a fixed number of mapped queries whatever the
size of the order or history (no query per order or per line), passes the call's remaining time to every query
and checks the deadline between them. Ownership is part of every query (customer number and order number), so a
foreign order looks exactly like a missing one: NOT_FOUND "order not found".

Queries per call: ListOrders 4 (headers, lines, parcels, returns; 3 when parcels are hidden); GetOrder 6 (header,
lines, returns, parcels, documents, history; hidden groups are not read); GetInvoicePdf 1; GetReorderItems 1;
LookupGuestOrder 1 when nothing matches, else 1 + GetOrder's without documents (5 with the default guest view).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onlineconnect.errors import InvalidArgument, NotFound, PermissionDenied
from onlineconnect.v1 import orders_pb2 as pb

from ..context import CallContext
from ..erp.db import Database, Row
from . import convert, guest, paging, specs, visibility
from .invoices import InvoiceFile, open_invoice, servable
from .labels import language_code
from .reorder import ORDER_NOT_FOUND, reorder_items
from .settings import OrderSettings, Visibility
from .status import OrderFacts, is_open, order_status, shown_status
from .values import flag, iso_date, money, optional_date, qty, require_number, text

_FILTERS = (pb.ORDER_FILTER_UNSPECIFIED, pb.ORDER_FILTER_OPEN, pb.ORDER_FILTER_HISTORICAL)


class OrderQueries:
    """Order answers from one ERP database under one tenant's settings.

    Args:
        db: The ERP database with a mapping that defines the ``orders_*`` queries.
        settings: The tenant's ``[orders]`` settings.
        tenant_key: The tenant key, from which the key of ListOrders page tokens is derived (every agent of the
            tenant accepts the others' tokens). None: a random key, tokens valid within this process only.
    """

    def __init__(self, db: Database, settings: OrderSettings, *, tenant_key: bytes | None = None) -> None:
        self.db = db
        self.settings = settings
        self._page_key = paging.page_key(tenant_key)

    def _fetch(self, name: str, params: Mapping[str, Any], ctx: CallContext) -> list[Row]:
        ctx.check()
        return self.db.fetch(name, params, timeout=ctx.remaining())

    def _pdf_servable(self, raw_path: Any) -> bool:
        # GetInvoicePdf's own rule, so pdf_available is true exactly for the documents it will serve.
        return self.settings.visibility.show_invoices and servable(self.settings.archive_root, raw_path)

    def _status(self, facts: OrderFacts) -> pb.OrderStatus:
        return shown_status(order_status(facts), show_internal=self.settings.visibility.show_internal_status)

    # ------------------------------------------------------------------ ListOrders

    def list_orders(self, req: pb.ListOrdersRequest, ctx: CallContext) -> pb.ListOrdersResponse:
        """Answers ListOrders: the customer's orders of every channel, newest first, one page.

        Raises:
            InvalidArgument: naming ``customer_number``, ``page_size``, ``page_token``, ``filter``, ``from_date`` or
                ``to_date``.
        """
        customer = require_number(req.customer_number, "customer_number")
        size = req.page_size or self.settings.page_size
        if req.page_size < 0 or size > self.settings.max_page_size:
            raise InvalidArgument(f"page_size must be from 1 to {self.settings.max_page_size} (0 for the default)")
        if req.filter not in _FILTERS:
            raise InvalidArgument(
                "filter must be ORDER_FILTER_UNSPECIFIED, ORDER_FILTER_OPEN or ORDER_FILTER_HISTORICAL"
            )
        from_date = optional_date(req.from_date, "from_date")
        to_date = optional_date(req.to_date, "to_date")
        if from_date and to_date and from_date > to_date:
            raise InvalidArgument("from_date must not be after to_date")
        bound_to = paging.binding(self._page_key, ctx.tenant, customer, req.filter, from_date, to_date)
        cursor = paging.decode(req.page_token, bound_to, self._page_key) if req.page_token else None
        lang = language_code(req.language, self.settings.default_language)
        vis = self.settings.visibility

        window = {
            "customer_number": customer,
            "from_date": from_date,
            "to_date": to_date,
            "after_date": cursor.order_date if cursor else None,
            "after_number": cursor.order_number if cursor else None,
        }
        headers = self._fetch(specs.LIST, window, ctx)
        if not headers:
            return pb.ListOrdersResponse()
        lines = convert.group(self._fetch(specs.LIST_LINES, window, ctx), "order_number")
        parcels = convert.group(
            self._fetch(specs.LIST_SHIPMENTS, window, ctx) if vis.show_shipments else [], "order_number"
        )
        returns = convert.group(self._fetch(specs.LIST_RETURNS, window, ctx), "order_number")

        # Sort here too: a merchant's mapping may forget the ORDER BY, and the keyset cursor relies on this order.
        headers.sort(key=lambda h: (iso_date(h.get("order_date")), text(h.get("order_number"))), reverse=True)
        page: list[pb.OrderSummary] = []
        more = False
        for header in headers:
            number = text(header.get("order_number"))
            order_lines = lines.get(number, [])
            facts = OrderFacts(
                cancelled=flag(header.get("cancelled")),
                on_hold=flag(header.get("on_hold")),
                processing_started=flag(header.get("processing_started")),
                lines=tuple(convert.line_facts(row) for row in order_lines),
                returns=tuple(convert.return_facts(row) for row in returns.get(number, [])),
            )
            status = self._status(facts)
            if req.filter == pb.ORDER_FILTER_OPEN and not is_open(status):
                continue
            if req.filter == pb.ORDER_FILTER_HISTORICAL and is_open(status):
                continue
            if len(page) == size:
                more = True
                break
            entry = convert.summary(
                header,
                status,
                lang,
                has_invoice=qty(header.get("document_count")) > 0,
                has_tracking=any(
                    self.settings.tracking_url(text(p.get("carrier")), text(p.get("parcel_number")))
                    for p in parcels.get(number, [])
                ),
                reorderable=any(
                    convert.is_reorderable(convert.word(row.get("line_type")), row.get("article_status"))
                    for row in order_lines
                ),
            )
            visibility.apply_to_summary(entry, vis)
            page.append(entry)

        answer = pb.ListOrdersResponse(orders=page)
        if more:
            last = page[-1]
            cursor_out = paging.Cursor(last.order_date, last.order_number)
            answer.next_page_token = paging.encode(cursor_out, bound_to, self._page_key)
        return answer

    # ------------------------------------------------------------------ GetOrder

    def get_order(self, req: pb.GetOrderRequest, ctx: CallContext) -> pb.GetOrderResponse:
        """Answers GetOrder: one order with lines, parcels, documents, returns and history.

        Raises:
            InvalidArgument: naming ``customer_number`` or ``order_number``.
            NotFound: "order not found" for a missing or foreign order alike.
        """
        params = {
            "customer_number": require_number(req.customer_number, "customer_number"),
            "order_number": require_number(req.order_number, "order_number"),
        }
        lang = language_code(req.language, self.settings.default_language)
        vis = self.settings.visibility
        order = self._order(params, lang, vis, ctx)
        visibility.apply_to_order(order, vis)
        return pb.GetOrderResponse(order=order)

    def _order(self, params: Mapping[str, str], lang: str, vis: Visibility, ctx: CallContext) -> pb.Order:
        """Reads one order of one customer; groups ``vis`` hides are not read (returns always: they decide the
        status).

        Raises:
            NotFound: "order not found" for a missing or foreign order alike.
        """
        headers = self._fetch(specs.HEADER, params, ctx)
        if not headers:
            raise NotFound(ORDER_NOT_FOUND)
        header = headers[0]
        currency = text(header.get("currency")) or "EUR"
        line_rows = self._fetch(specs.LINES, params, ctx)
        # Returns are read even when hidden: an open return decides the order status.
        return_rows = self._fetch(specs.RETURNS, params, ctx)
        parcel_rows = self._fetch(specs.SHIPMENTS, params, ctx) if vis.show_shipments else []
        document_rows = self._fetch(specs.DOCUMENTS, params, ctx) if vis.show_invoices else []
        event_rows = self._fetch(specs.EVENTS, params, ctx) if vis.show_status_history else []

        open_qty = convert.open_return_quantities(return_rows)
        line_facts = [convert.line_facts(row, open_qty.get(int(row["line_number"]), 0)) for row in line_rows]
        return_facts = [convert.return_facts(rows[0]) for rows in convert.group(return_rows, "return_id").values()]
        facts = OrderFacts(
            cancelled=flag(header.get("cancelled")),
            on_hold=flag(header.get("on_hold")),
            processing_started=flag(header.get("processing_started")),
            lines=tuple(line_facts),
            returns=tuple(return_facts),
        )
        lines = [convert.order_line(row, f, lang, currency) for row, f in zip(line_rows, line_facts, strict=True)]
        shipments = convert.shipments(parcel_rows, self.settings)
        documents = convert.documents(document_rows, self._pdf_servable)
        order = pb.Order(
            summary=convert.summary(
                header,
                self._status(facts),
                lang,
                has_invoice=any(d.pdf_available for d in documents),
                has_tracking=any(s.tracking_url for s in shipments),
                reorderable=any(line.reorderable for line in lines),
            ),
            lines=lines,
            shipments=shipments,
            documents=documents,
            returns=convert.returns(return_rows, {s.shipment_id: s for s in shipments}, lang),
            history=convert.history(event_rows, lang, show_internal=vis.show_internal_status),
            goods_total=money(
                sum(
                    qty(r.get("line_total_minor"))
                    for r, f in zip(line_rows, line_facts, strict=True)
                    if f.line_type == "product"
                ),
                currency,
            ),
            shipping_total=money(
                sum(
                    qty(r.get("line_total_minor"))
                    for r, f in zip(line_rows, line_facts, strict=True)
                    if f.line_type in convert.SHIPPING_TYPES
                ),
                currency,
            ),
        )
        return order

    # ------------------------------------------------------------------ LookupGuestOrder

    def lookup_guest_order(self, req: pb.LookupGuestOrderRequest, ctx: CallContext) -> pb.LookupGuestOrderResponse:
        """Answers LookupGuestOrder: the guest view of the one order whose number and postcode (and optionally last
        name and e-mail) match.

        Raises:
            InvalidArgument: naming ``order_number``, ``postcode``, ``last_name`` or ``email``.
            PermissionDenied: the merchant switched the guest lookup off (``[orders.guest] enabled = false``).
            NotFound: "order not found" for an unknown order number and for a wrong postcode, name or e-mail alike.
        """
        guest_view = self.settings.guest
        if not guest_view.enabled:
            raise PermissionDenied("this merchant does not offer the guest order lookup")
        query = guest.check_request(req)
        if guest_view.require_last_name and not query.last_name:
            raise InvalidArgument("last_name is required: this merchant's guest order lookup asks for the last name")
        # The lookup query runs for unknown numbers and wrong pairs alike; only a match reads the order itself.
        rows = self._fetch(specs.GUEST, {"order_number": query.order_number}, ctx)
        customer = guest.matching_customer(query, rows)
        if customer is None:
            raise NotFound(ORDER_NOT_FOUND)
        lang = language_code(req.language, self.settings.default_language)
        vis = self.settings.visibility
        params = {"customer_number": customer, "order_number": text(rows[0].get("order_number"))}
        order = self._order(params, lang, visibility.guest_visibility(vis, guest_view), ctx)
        visibility.apply_to_guest_order(order, vis, guest_view)
        return pb.LookupGuestOrderResponse(order=order)

    # ------------------------------------------------------------------ GetInvoicePdf, GetReorderItems

    def open_invoice(self, req: pb.GetInvoicePdfRequest, ctx: CallContext) -> InvoiceFile:
        """Finds and hashes the archived PDF for GetInvoicePdf; the caller streams ``path`` in chunks.

        Raises:
            InvalidArgument: naming the malformed field.
            NotFound: "document not found" for a missing, foreign, hidden or refused document alike.
        """
        return open_invoice(self.db, self.settings, req, ctx)

    def get_reorder_items(self, req: pb.GetReorderItemsRequest, ctx: CallContext) -> pb.GetReorderItemsResponse:
        """Answers GetReorderItems: the order's product lines with current article data, or why not.

        Raises:
            InvalidArgument: naming ``customer_number``, ``order_number`` or ``line_numbers``.
            NotFound: "order not found" for a missing or foreign order alike.
        """
        return reorder_items(self.db, self.settings, req, ctx)

"""Reorder (Nachbestellen): the product lines of an earlier order that can go back into the shop's cart.

Only product lines qualify: shipping fees, surcharges, vouchers, free items, catalogues and services never appear
in either list of the answer. Each product line is checked against the article master as it is *now*: a
discontinued article is rejected and names its successor when the ERP has one, an article the master no longer
knows is UNKNOWN_ARTICLE, a blocked one NOT_SELLABLE. The shop re-checks price and stock in the cart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onlineconnect.errors import InvalidArgument, NotFound
from onlineconnect.v1 import orders_pb2 as pb

from ..context import CallContext
from ..erp.db import Database
from . import specs
from .convert import word
from .settings import OrderSettings
from .values import money, qty, require_number, text

ORDER_NOT_FOUND = "order not found"


def _rejection(row: Mapping[str, Any]) -> pb.ReorderReason:
    """Why a product line cannot be reordered; UNSPECIFIED if it can."""
    if not text(row.get("current_article_number")):
        return pb.REORDER_REASON_UNKNOWN_ARTICLE
    # A variant the master no longer has cannot be put into a cart either.
    if text(row.get("sku")) and not text(row.get("current_sku")):
        return pb.REORDER_REASON_UNKNOWN_ARTICLE
    status = word(row.get("article_status"))
    if status == "discontinued":
        return pb.REORDER_REASON_DISCONTINUED
    if status != "active":
        return pb.REORDER_REASON_NOT_SELLABLE
    return pb.REORDER_REASON_UNSPECIFIED


def _item(row: Mapping[str, Any], reason: pb.ReorderReason, show_prices: bool) -> pb.ReorderItem:
    item = pb.ReorderItem(
        line_number=int(row["line_number"]),
        article_number=text(row.get("article_number")),
        sku=text(row.get("sku")),
        description=text(row.get("article_name")) or text(row.get("description")),
        quantity=qty(row.get("qty_ordered")),
        reason=reason,
    )
    colour, size = text(row.get("colour")), text(row.get("size"))
    if colour or size:
        item.variant.CopyFrom(pb.Variant(colour=colour, size=size))
    price = row.get("current_price_minor")
    if show_prices and price is not None and reason == pb.REORDER_REASON_UNSPECIFIED:
        item.current_price.CopyFrom(money(int(price), text(row.get("currency")) or "EUR"))
    if reason == pb.REORDER_REASON_DISCONTINUED:
        item.successor_article_number = text(row.get("successor_number"))
        item.successor_description = text(row.get("successor_name"))
    return item


def reorder_items(
    db: Database, settings: OrderSettings, req: pb.GetReorderItemsRequest, ctx: CallContext
) -> pb.GetReorderItemsResponse:
    """Answers GetReorderItems with one query.

    Args:
        db: The ERP database.
        settings: The order settings (price visibility).
        req: The shop's request; empty ``line_numbers`` means every product line.
        ctx: Deadline of the call.

    Raises:
        InvalidArgument: a number field is malformed, or ``line_numbers`` names a line the order does not have.
        NotFound: the order is missing or not the customer's ("order not found" either way).
    """
    params = {
        "customer_number": require_number(req.customer_number, "customer_number"),
        "order_number": require_number(req.order_number, "order_number"),
    }
    ctx.check()
    rows = db.fetch(specs.REORDER, params, timeout=ctx.remaining())
    if not rows:
        # An order always has lines in the ERP; no rows means missing or foreign, indistinguishably.
        raise NotFound(ORDER_NOT_FOUND)
    wanted = set(req.line_numbers)
    known = {int(row["line_number"]) for row in rows}
    unknown = sorted(wanted - known)
    if unknown:
        raise InvalidArgument(f"line_numbers: the order has no line {unknown[0]}")
    answer = pb.GetReorderItemsResponse()
    for row in rows:
        if wanted and int(row["line_number"]) not in wanted:
            continue
        if word(row.get("line_type")) != "product":
            continue
        reason = _rejection(row)
        target = answer.items if reason == pb.REORDER_REASON_UNSPECIFIED else answer.rejected
        target.append(_item(row, reason, settings.visibility.show_prices))
    return answer

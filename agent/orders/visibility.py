"""The merchant's visibility settings, applied to an answer just before it leaves the agent.

The query code already skips reading groups the merchant hides (documents, parcels, history), so hidden data is
usually never loaded; this module is the last word regardless, so a hidden detail cannot slip out through a code
path that forgot to check. It only removes: it never invents or relabels data (ON_HOLD → IN_PROCESSING happens
where the status is derived, because the label depends on the request's language).
"""

from __future__ import annotations

from onlineconnect.v1 import orders_pb2 as pb

from .settings import GuestView, Visibility


def apply_to_summary(summary: pb.OrderSummary, vis: Visibility) -> None:
    """Strips an order history entry in place.

    Args:
        summary: The entry to strip.
        vis: The merchant's visibility settings.
    """
    if not vis.show_prices:
        summary.ClearField("total")
    if not vis.show_invoices:
        summary.has_invoice = False
    if not vis.show_shipments:
        summary.has_tracking = False


def apply_to_order(order: pb.Order, vis: Visibility) -> None:
    """Strips a full order in place: money, documents, parcels, returns and history as configured.

    Args:
        order: The order to strip.
        vis: The merchant's visibility settings.
    """
    apply_to_summary(order.summary, vis)
    if not vis.show_prices:
        order.ClearField("goods_total")
        order.ClearField("shipping_total")
        for line in order.lines:
            line.ClearField("unit_price")
            line.ClearField("line_total")
        for doc in order.documents:
            doc.ClearField("amount")
    if not vis.show_invoices:
        del order.documents[:]
    if not vis.show_shipments:
        del order.shipments[:]
        for ret in order.returns:
            ret.ClearField("replacement_shipment")
    if not vis.show_returns:
        del order.returns[:]
    if not vis.show_status_history:
        del order.history[:]


def guest_visibility(vis: Visibility, guest: GuestView) -> Visibility:
    """The order groups the guest lookup may read: the merchant's visibility narrowed by its guest view.

    Invoices and returns are never part of the guest view, so their queries are not even run for it.
    """
    return Visibility(
        show_prices=vis.show_prices and guest.show_prices,
        show_invoices=False,
        show_shipments=vis.show_shipments and guest.show_shipments,
        show_returns=False,
        show_status_history=vis.show_status_history and guest.show_status_history,
        show_internal_status=vis.show_internal_status,
    )


def apply_to_guest_order(order: pb.Order, vis: Visibility, guest: GuestView) -> None:
    """Strips an order in place down to the guest view: what :func:`guest_visibility` allows, no reorder flags,
    lines and expected dates as configured.

    Args:
        order: The order as GetOrder would answer it.
        vis: The merchant's visibility settings.
        guest: The merchant's guest view.
    """
    apply_to_order(order, guest_visibility(vis, guest))
    order.summary.reorderable = False
    order.summary.has_invoice = False
    for line in order.lines:
        line.reorderable = False
        if not guest.show_expected_dates:
            line.expected_delivery_date = ""
    if not guest.show_lines:
        del order.lines[:]
        for shipment in order.shipments:
            del shipment.items[:]

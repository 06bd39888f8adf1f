"""The merchant's visibility settings, applied to an answer just before it leaves the agent.

The query code already skips reading groups the merchant hides (documents, parcels, history), so hidden data is
usually never loaded; this module is the last word regardless, so a hidden detail cannot slip out through a code
path that forgot to check. It only removes: it never invents or relabels data (ON_HOLD → IN_PROCESSING happens
where the status is derived, because the label depends on the request's language).
"""

from __future__ import annotations

from onlineconnect.v1 import orders_pb2 as pb

from .settings import Visibility


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

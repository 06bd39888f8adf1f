"""Derived order and line status: pure functions from ERP facts to the API's vocabulary.

The ERP keeps facts (quantities per line, flags on the order, returns and their resolution); the status a customer
sees is derived here, on the agent, by fixed rules that docs/order-status.md restates. Keeping the rules in pure
functions lets every rule be tested without a database and keeps a merchant's SQL mapping free of status logic.

Order status, first matching rule wins:

1. The order is cancelled, or every counted line is cancelled in full → CANCELLED.
2. The merchant holds the order → ON_HOLD.
3. A return is open (requested, authorized or received) → RETURN_IN_PROGRESS; so is a completed exchange whose
   replacement has not shipped yet (the customer is still waiting for goods).
4. An exchange is completed and its replacement has shipped → EXCHANGE_SHIPPED.
5. A return was settled by refund or credit note and every shipped unit has come back → RETURNED.
6. By the counted lines' quantities: all delivered → DELIVERED; all shipped → SHIPPED; some shipped →
   PARTIALLY_DELIVERED; nothing shipped and something backordered → BACKORDERED; processing started or anything
   allocated or invoiced → IN_PROCESSING; otherwise RECEIVED.

Counted lines are product lines that are not cancelled in full: a "Versandkostenfrei" marker or a catalogue never
decides whether an order is delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from onlineconnect.v1 import orders_pb2 as pb

OPEN_RETURN_STATES = frozenset({"requested", "authorized", "received"})

OPEN_STATUSES = frozenset(
    {
        pb.ORDER_STATUS_RECEIVED,
        pb.ORDER_STATUS_ON_HOLD,
        pb.ORDER_STATUS_IN_PROCESSING,
        pb.ORDER_STATUS_BACKORDERED,
        pb.ORDER_STATUS_PARTIALLY_DELIVERED,
        pb.ORDER_STATUS_RETURN_IN_PROGRESS,
    }
)
"""Statuses ListOrders' OPEN filter selects; every other known status is historical."""


@dataclass(frozen=True)
class LineFacts:
    """What the ERP knows about one order line.

    Attributes:
        line_type: ERP line type ("product", "shipping_fee", "catalogue", ...).
        ordered: Quantity ordered.
        allocated: Quantity allocated from stock (Wareneinteilung).
        invoiced: Quantity invoiced.
        shipped: Quantity handed to a carrier.
        delivered: Quantity confirmed delivered.
        backordered: Quantity waiting for stock (Rückstand).
        cancelled: Quantity cancelled.
        returned: Quantity returned and booked back.
        return_open: Quantity in returns that are still open.
    """

    line_type: str = "product"
    ordered: int = 0
    allocated: int = 0
    invoiced: int = 0
    shipped: int = 0
    delivered: int = 0
    backordered: int = 0
    cancelled: int = 0
    returned: int = 0
    return_open: int = 0

    @property
    def effective(self) -> int:
        """Quantity still owed to the customer: ordered minus cancelled."""
        return max(self.ordered - self.cancelled, 0)

    @property
    def counts(self) -> bool:
        """True if the line counts toward the order's delivery status."""
        return self.line_type == "product" and self.effective > 0


@dataclass(frozen=True)
class ReturnFacts:
    """What the ERP knows about one return or exchange.

    Attributes:
        state: "requested", "authorized", "received", "completed", "rejected" or "cancelled".
        resolution: "refund", "credit_note", "replacement" or "" while undecided.
        replacement_shipped: True if an exchange's replacement parcel has been handed to the carrier.
    """

    state: str
    resolution: str = ""
    replacement_shipped: bool = False


@dataclass(frozen=True)
class OrderFacts:
    """What the ERP knows about one order.

    Attributes:
        cancelled: The order is cancelled as a whole.
        on_hold: The merchant holds the order.
        processing_started: Address check, allocation or picking has begun.
        lines: Facts of every line, product and non-product.
        returns: Facts of every return and exchange.
    """

    cancelled: bool = False
    on_hold: bool = False
    processing_started: bool = False
    lines: tuple[LineFacts, ...] = ()
    returns: tuple[ReturnFacts, ...] = ()


def line_status(line: LineFacts) -> pb.LineStatus:
    """Derives the delivery state of one line.

    Rules, first match wins: cancelled in full → CANCELLED; in an open return → RETURN_REQUESTED; everything
    owed returned → RETURNED; some returned → PARTIALLY_RETURNED; all delivered → DELIVERED; all shipped →
    SHIPPED; some shipped → PARTIALLY_SHIPPED; some backordered → BACKORDERED; all allocated → AVAILABLE
    ("Lieferbar"); otherwise OPEN. Non-product lines have no delivery state (UNSPECIFIED): the shop leaves the
    column empty, as the product sheet does for "Versandkostenfrei".

    Args:
        line: The line's facts.
    """
    if line.line_type != "product":
        return pb.LINE_STATUS_UNSPECIFIED
    owed = line.effective
    if line.ordered > 0 and owed == 0:
        return pb.LINE_STATUS_CANCELLED
    if line.return_open > 0:
        return pb.LINE_STATUS_RETURN_REQUESTED
    if line.returned > 0:
        return pb.LINE_STATUS_RETURNED if line.returned >= owed else pb.LINE_STATUS_PARTIALLY_RETURNED
    if owed > 0 and line.delivered >= owed:
        return pb.LINE_STATUS_DELIVERED
    if owed > 0 and line.shipped >= owed:
        return pb.LINE_STATUS_SHIPPED
    if line.shipped > 0:
        return pb.LINE_STATUS_PARTIALLY_SHIPPED
    if line.backordered > 0:
        return pb.LINE_STATUS_BACKORDERED
    if owed > 0 and line.allocated >= owed:
        return pb.LINE_STATUS_AVAILABLE
    return pb.LINE_STATUS_OPEN


def _return_status(returns: Iterable[ReturnFacts], counted: list[LineFacts]) -> pb.OrderStatus | None:
    """Rules 3-5 of the module docstring; None when no return decides the status."""
    returns = list(returns)
    for r in returns:
        if r.state in OPEN_RETURN_STATES:
            return pb.ORDER_STATUS_RETURN_IN_PROGRESS
        if r.state == "completed" and r.resolution == "replacement" and not r.replacement_shipped:
            return pb.ORDER_STATUS_RETURN_IN_PROGRESS
    if any(r.state == "completed" and r.resolution == "replacement" for r in returns):
        return pb.ORDER_STATUS_EXCHANGE_SHIPPED
    settled = any(r.state == "completed" and r.resolution in {"refund", "credit_note"} for r in returns)
    shipped = sum(line.shipped for line in counted)
    if settled and shipped > 0 and sum(line.returned for line in counted) >= shipped:
        return pb.ORDER_STATUS_RETURNED
    return None


def order_status(order: OrderFacts) -> pb.OrderStatus:
    """Derives the overall status of an order by the rules in the module docstring.

    Args:
        order: The order's facts.
    """
    products = [line for line in order.lines if line.line_type == "product" and line.ordered > 0]
    counted = [line for line in products if line.counts]
    if order.cancelled or (products and not counted):
        return pb.ORDER_STATUS_CANCELLED
    if order.on_hold:
        return pb.ORDER_STATUS_ON_HOLD
    by_return = _return_status(order.returns, counted)
    if by_return is not None:
        return by_return
    if counted and all(line.delivered >= line.effective for line in counted):
        return pb.ORDER_STATUS_DELIVERED
    if counted and all(line.shipped >= line.effective for line in counted):
        return pb.ORDER_STATUS_SHIPPED
    if any(line.shipped > 0 for line in counted):
        return pb.ORDER_STATUS_PARTIALLY_DELIVERED
    if any(line.backordered > 0 for line in counted):
        return pb.ORDER_STATUS_BACKORDERED
    if order.processing_started or any(line.allocated > 0 or line.invoiced > 0 for line in counted):
        return pb.ORDER_STATUS_IN_PROCESSING
    return pb.ORDER_STATUS_RECEIVED


def shown_status(status: pb.OrderStatus, *, show_internal: bool) -> pb.OrderStatus:
    """Returns the status the customer may see: ON_HOLD is internal and reads IN_PROCESSING when hidden.

    Args:
        status: The derived status.
        show_internal: The merchant's ``show_internal_status`` setting.
    """
    if status == pb.ORDER_STATUS_ON_HOLD and not show_internal:
        return pb.ORDER_STATUS_IN_PROCESSING
    return status


def is_open(status: pb.OrderStatus) -> bool:
    """True if ``status`` belongs to ListOrders' OPEN filter, False if to HISTORICAL."""
    return status in OPEN_STATUSES

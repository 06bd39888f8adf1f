"""Status derivation rules of agent/orders/status.py, one test per rule."""

from __future__ import annotations

from onlineconnect.agent.orders import labels
from onlineconnect.agent.orders.status import (
    LineFacts,
    OrderFacts,
    ReturnFacts,
    is_open,
    line_status,
    order_status,
    shown_status,
)
from onlineconnect.v1 import orders_pb2 as pb


def product(n: int = 1, **q: int) -> LineFacts:
    return LineFacts(line_type="product", ordered=n, **q)


def delivered(n: int = 1) -> LineFacts:
    return product(n, allocated=n, invoiced=n, shipped=n, delivered=n)


SHIPPING = LineFacts(line_type="shipping_fee", ordered=1, invoiced=1)
CATALOGUE = LineFacts(line_type="catalogue", ordered=1)


def test_all_delivered_is_delivered() -> None:
    """An order whose product lines are all delivered is DELIVERED."""
    facts = OrderFacts(processing_started=True, lines=(delivered(2), delivered(1), SHIPPING, CATALOGUE))
    assert order_status(facts) == pb.ORDER_STATUS_DELIVERED


def test_non_product_lines_do_not_count() -> None:
    """An undelivered catalogue or shipping line does not keep a delivered order from being DELIVERED."""
    facts = OrderFacts(lines=(delivered(1), LineFacts(line_type="catalogue", ordered=1, backordered=1), SHIPPING))
    assert order_status(facts) == pb.ORDER_STATUS_DELIVERED


def test_all_shipped_not_delivered_is_shipped() -> None:
    """Every product line handed to the carrier but not confirmed delivered is SHIPPED."""
    facts = OrderFacts(lines=(product(2, shipped=2), delivered(1)))
    assert order_status(facts) == pb.ORDER_STATUS_SHIPPED


def test_some_shipped_others_backordered_is_partially_delivered() -> None:
    """Some lines shipped and another backordered is PARTIALLY_DELIVERED."""
    facts = OrderFacts(lines=(delivered(1), product(1, backordered=1)))
    assert order_status(facts) == pb.ORDER_STATUS_PARTIALLY_DELIVERED


def test_nothing_shipped_and_backordered_is_backordered() -> None:
    """Nothing shipped and at least one backordered line is BACKORDERED."""
    facts = OrderFacts(processing_started=True, lines=(product(1, allocated=1), product(1, backordered=1)))
    assert order_status(facts) == pb.ORDER_STATUS_BACKORDERED


def test_processing_started_is_in_processing() -> None:
    """Processing begun with nothing shipped or backordered is IN_PROCESSING."""
    assert order_status(OrderFacts(processing_started=True, lines=(product(1),))) == pb.ORDER_STATUS_IN_PROCESSING


def test_allocation_alone_is_in_processing() -> None:
    """An allocated line means someone worked on the order even without the processing flag."""
    assert order_status(OrderFacts(lines=(product(1, allocated=1),))) == pb.ORDER_STATUS_IN_PROCESSING


def test_untouched_is_received() -> None:
    """An order nobody has worked on is RECEIVED."""
    assert order_status(OrderFacts(lines=(product(3), SHIPPING))) == pb.ORDER_STATUS_RECEIVED


def test_cancelled_flag_wins() -> None:
    """The order's cancelled flag makes it CANCELLED whatever the lines say."""
    facts = OrderFacts(cancelled=True, on_hold=True, lines=(delivered(1),))
    assert order_status(facts) == pb.ORDER_STATUS_CANCELLED


def test_all_lines_cancelled_is_cancelled() -> None:
    """Every product line cancelled in full is CANCELLED even without the order flag."""
    facts = OrderFacts(lines=(product(2, cancelled=2), product(1, cancelled=1), SHIPPING))
    assert order_status(facts) == pb.ORDER_STATUS_CANCELLED


def test_cancelled_line_is_ignored_for_delivery() -> None:
    """A cancelled line beside delivered ones leaves the order DELIVERED."""
    facts = OrderFacts(lines=(delivered(1), product(1, cancelled=1)))
    assert order_status(facts) == pb.ORDER_STATUS_DELIVERED


def test_on_hold_is_on_hold() -> None:
    """A held order is ON_HOLD."""
    assert order_status(OrderFacts(on_hold=True, lines=(product(1),))) == pb.ORDER_STATUS_ON_HOLD


def test_on_hold_reads_in_processing_when_internal_hidden() -> None:
    """ON_HOLD is internal: shown as IN_PROCESSING unless the merchant shows internal status."""
    assert shown_status(pb.ORDER_STATUS_ON_HOLD, show_internal=False) == pb.ORDER_STATUS_IN_PROCESSING
    assert shown_status(pb.ORDER_STATUS_ON_HOLD, show_internal=True) == pb.ORDER_STATUS_ON_HOLD
    assert shown_status(pb.ORDER_STATUS_DELIVERED, show_internal=False) == pb.ORDER_STATUS_DELIVERED


def test_open_return_is_return_in_progress() -> None:
    """A requested, authorized or received return makes the order RETURN_IN_PROGRESS."""
    for state in ("requested", "authorized", "received"):
        facts = OrderFacts(lines=(delivered(1),), returns=(ReturnFacts(state=state),))
        assert order_status(facts) == pb.ORDER_STATUS_RETURN_IN_PROGRESS, state


def test_exchange_with_replacement_shipped_is_exchange_shipped() -> None:
    """A completed exchange whose replacement has shipped is EXCHANGE_SHIPPED."""
    ret = ReturnFacts(state="completed", resolution="replacement", replacement_shipped=True)
    facts = OrderFacts(lines=(product(1, shipped=1, delivered=1, returned=1),), returns=(ret,))
    assert order_status(facts) == pb.ORDER_STATUS_EXCHANGE_SHIPPED


def test_exchange_without_replacement_shipped_is_still_in_progress() -> None:
    """A completed exchange whose replacement has not shipped yet is still RETURN_IN_PROGRESS."""
    ret = ReturnFacts(state="completed", resolution="replacement", replacement_shipped=False)
    facts = OrderFacts(lines=(product(1, shipped=1, delivered=1, returned=1),), returns=(ret,))
    assert order_status(facts) == pb.ORDER_STATUS_RETURN_IN_PROGRESS


def test_refunded_full_return_is_returned() -> None:
    """Every shipped unit back and settled by refund is RETURNED."""
    ret = ReturnFacts(state="completed", resolution="refund")
    facts = OrderFacts(lines=(product(1, shipped=1, delivered=1, returned=1), SHIPPING), returns=(ret,))
    assert order_status(facts) == pb.ORDER_STATUS_RETURNED


def test_partial_refund_keeps_delivery_status() -> None:
    """A settled return of part of the goods leaves the delivery-based status (DELIVERED)."""
    ret = ReturnFacts(state="completed", resolution="credit_note")
    facts = OrderFacts(lines=(product(2, shipped=2, delivered=2, returned=1),), returns=(ret,))
    assert order_status(facts) == pb.ORDER_STATUS_DELIVERED


def test_rejected_return_does_not_change_status() -> None:
    """A rejected or withdrawn return leaves the order DELIVERED."""
    facts = OrderFacts(lines=(delivered(1),), returns=(ReturnFacts("rejected"), ReturnFacts("cancelled")))
    assert order_status(facts) == pb.ORDER_STATUS_DELIVERED


def test_line_status_rules() -> None:
    """Each line rule yields its status, first match winning."""
    cases = [
        (product(2, cancelled=2), pb.LINE_STATUS_CANCELLED),
        (product(1, shipped=1, delivered=1, return_open=1), pb.LINE_STATUS_RETURN_REQUESTED),
        (product(1, shipped=1, delivered=1, returned=1), pb.LINE_STATUS_RETURNED),
        (product(2, shipped=2, delivered=2, returned=1), pb.LINE_STATUS_PARTIALLY_RETURNED),
        (delivered(2), pb.LINE_STATUS_DELIVERED),
        (product(2, shipped=2), pb.LINE_STATUS_SHIPPED),
        (product(3, shipped=2, backordered=1), pb.LINE_STATUS_PARTIALLY_SHIPPED),
        (product(1, backordered=1), pb.LINE_STATUS_BACKORDERED),
        (product(2, allocated=2), pb.LINE_STATUS_AVAILABLE),
        (product(2, allocated=1), pb.LINE_STATUS_OPEN),
        (product(2, cancelled=1, shipped=1, delivered=1), pb.LINE_STATUS_DELIVERED),
    ]
    for facts, expected in cases:
        assert line_status(facts) == expected, facts


def test_non_product_lines_have_no_line_status() -> None:
    """Shipping fees and catalogues carry no delivery state, like the sheet's empty column."""
    assert line_status(SHIPPING) == pb.LINE_STATUS_UNSPECIFIED
    assert line_status(CATALOGUE) == pb.LINE_STATUS_UNSPECIFIED


def test_available_reads_lieferbar() -> None:
    """An allocated line reads "Lieferbar" in German and "Available" in English."""
    status = line_status(product(1, allocated=1))
    assert labels.line_status_label(status, "de") == "Lieferbar"
    assert labels.line_status_label(status, "en") == "Available"


def test_every_status_has_both_labels() -> None:
    """Every order status, line status and return state has a German and an English word."""
    for value in pb.OrderStatus.values():
        if value:
            assert labels.order_status_label(value, "de") and labels.order_status_label(value, "en")
    for value in pb.LineStatus.values():
        if value:
            assert labels.line_status_label(value, "de") and labels.line_status_label(value, "en")
    for value in pb.ReturnState.values():
        if value:
            assert labels.return_state_label(value, "de") and labels.return_state_label(value, "en")


def test_open_and_historical_partition() -> None:
    """Open statuses are the ones still in progress; finished ones are historical."""
    assert is_open(pb.ORDER_STATUS_PARTIALLY_DELIVERED) and is_open(pb.ORDER_STATUS_RETURN_IN_PROGRESS)
    assert not is_open(pb.ORDER_STATUS_DELIVERED) and not is_open(pb.ORDER_STATUS_CANCELLED)
    assert not is_open(pb.ORDER_STATUS_EXCHANGE_SHIPPED)

"""Status words in German and English for order status, line status, return state and status events.

The German words follow what a mail-order customer reads in a VS/4 customer account ("In Bearbeitung",
"Ausgeliefert", "Lieferbar"); the English ones are plain shop English. Codes without a word (an event code a
merchant's ERP invents) fall back to the code itself rather than to an empty label.
"""

from __future__ import annotations

from onlineconnect.v1 import common_pb2
from onlineconnect.v1 import orders_pb2 as pb

DE = "de"
EN = "en"
LANGUAGES = (DE, EN)

ORDER_STATUS: dict[int, tuple[str, str]] = {
    pb.ORDER_STATUS_RECEIVED: ("Eingegangen", "Received"),
    pb.ORDER_STATUS_ON_HOLD: ("Angehalten", "On hold"),
    pb.ORDER_STATUS_IN_PROCESSING: ("In Bearbeitung", "In processing"),
    pb.ORDER_STATUS_PARTIALLY_DELIVERED: ("Teilweise ausgeliefert", "Partially delivered"),
    pb.ORDER_STATUS_SHIPPED: ("Versendet", "Shipped"),
    pb.ORDER_STATUS_DELIVERED: ("Ausgeliefert", "Delivered"),
    pb.ORDER_STATUS_RETURN_IN_PROGRESS: ("Retoure in Bearbeitung", "Return in progress"),
    pb.ORDER_STATUS_RETURNED: ("Retourniert", "Returned"),
    pb.ORDER_STATUS_EXCHANGE_SHIPPED: ("Umtausch versendet", "Exchange shipped"),
    pb.ORDER_STATUS_CANCELLED: ("Storniert", "Cancelled"),
    pb.ORDER_STATUS_BACKORDERED: ("Wird nachgeliefert", "Backordered"),
}

LINE_STATUS: dict[int, tuple[str, str]] = {
    pb.LINE_STATUS_OPEN: ("Offen", "Open"),
    pb.LINE_STATUS_AVAILABLE: ("Lieferbar", "Available"),
    pb.LINE_STATUS_BACKORDERED: ("Wird nachgeliefert", "Backordered"),
    pb.LINE_STATUS_PARTIALLY_SHIPPED: ("Teilweise versendet", "Partially shipped"),
    pb.LINE_STATUS_SHIPPED: ("Versendet", "Shipped"),
    pb.LINE_STATUS_DELIVERED: ("Ausgeliefert", "Delivered"),
    pb.LINE_STATUS_CANCELLED: ("Storniert", "Cancelled"),
    pb.LINE_STATUS_PARTIALLY_RETURNED: ("Teilweise retourniert", "Partially returned"),
    pb.LINE_STATUS_RETURNED: ("Retourniert", "Returned"),
    pb.LINE_STATUS_RETURN_REQUESTED: ("Retoure angemeldet", "Return requested"),
}

RETURN_STATE: dict[int, tuple[str, str]] = {
    pb.RETURN_STATE_REQUESTED: ("Angemeldet", "Requested"),
    pb.RETURN_STATE_AUTHORIZED: ("Genehmigt", "Authorized"),
    pb.RETURN_STATE_RECEIVED: ("Eingegangen, wird geprüft", "Received, being inspected"),
    pb.RETURN_STATE_COMPLETED: ("Abgeschlossen", "Completed"),
    pb.RETURN_STATE_REJECTED: ("Abgelehnt", "Rejected"),
    pb.RETURN_STATE_CANCELLED: ("Zurückgezogen", "Withdrawn"),
}

EVENTS: dict[str, tuple[str, str]] = {
    "received": ("Auftrag eingegangen", "Order received"),
    "address_check": ("Adresse geprüft", "Address checked"),
    "stock_allocation": ("Ware eingeteilt", "Stock allocated"),
    "invoiced": ("Rechnung erstellt", "Invoiced"),
    "shipped": ("Versendet", "Shipped"),
    "delivered": ("Zugestellt", "Delivered"),
    "backordered": ("Artikel im Rückstand", "Article backordered"),
    "return_requested": ("Retoure angemeldet", "Return requested"),
    "return_received": ("Retoure eingegangen", "Return received"),
    "refunded": ("Betrag erstattet", "Refunded"),
    "exchange_shipped": ("Umtauschware versendet", "Replacement shipped"),
    "cancelled": ("Storniert", "Cancelled"),
    "on_hold": ("Angehalten", "On hold"),
    "hold_released": ("Freigegeben", "Released"),
}

INTERNAL_EVENTS = frozenset({"on_hold", "hold_released"})
"""Event codes that reveal the merchant's internal handling; dropped unless ``show_internal_status`` is set."""


def language_code(language: common_pb2.Language, default: str) -> str:
    """Maps the request's language to "de" or "en"; unspecified means the tenant's default.

    Args:
        language: The request's ``language`` field.
        default: The configured default language.
    """
    if language == common_pb2.LANGUAGE_DE:
        return DE
    if language == common_pb2.LANGUAGE_EN:
        return EN
    return default


def _pick(table: dict[int, tuple[str, str]], key: int, lang: str) -> str:
    words = table.get(key)
    if words is None:
        return ""
    return words[1] if lang == EN else words[0]


def order_status_label(status: pb.OrderStatus, lang: str) -> str:
    """The order status in words ("Ausgeliefert" / "Delivered")."""
    return _pick(ORDER_STATUS, status, lang)


def line_status_label(status: pb.LineStatus, lang: str) -> str:
    """The line status in words ("Lieferbar" / "Available"); empty for non-product lines."""
    return _pick(LINE_STATUS, status, lang)


def return_state_label(state: pb.ReturnState, lang: str) -> str:
    """The return's progress in words ("Angemeldet" / "Requested")."""
    return _pick(RETURN_STATE, state, lang)


def event_label(code: str, lang: str) -> str:
    """The status event in words; an unknown code is shown as itself."""
    words = EVENTS.get(code)
    if words is None:
        return code
    return words[1] if lang == EN else words[0]

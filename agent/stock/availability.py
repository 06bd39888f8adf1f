"""From ERP stock figures to what a shop may show: quantity, availability level, show-quantity flag.

The rules (also in docs/stock.md):

* available = max(0, on_hand - reserved): pieces promised to pickup reservations or open orders are not for sale,
  and an over-reservation never shows as a negative stock.
* A store row flagged ``display_only`` holding at least one piece is DISPLAY_ONLY: the piece can be looked at and
  tried on, not taken home, so the available quantity is 0.
* available = 0 -> OUT_OF_STOCK; 1..low_stock_threshold -> LOW_STOCK; above -> IN_STOCK.
* The exact number is shown only for 1..show_quantity_max pieces; otherwise ``show_quantity`` is false and
  ``quantity_available`` is 0, so shops cannot read (and competitors cannot scrape) the merchant's stock depth.
  The defaults (3 and 10) let the sheet's "1x verfügbar" show.
"""

from __future__ import annotations

from dataclasses import dataclass

from onlineconnect.v1 import stock_pb2

from .settings import StockSettings


@dataclass(frozen=True)
class Level:
    """What the answer says about one variant in one store."""

    quantity_available: int
    availability: stock_pb2.Availability
    show_quantity: bool


def classify(on_hand: int, reserved: int, display_only: bool, settings: StockSettings) -> Level:
    """Applies the tenant's thresholds to one store's stock row.

    Args:
        on_hand: Pieces physically in the store.
        reserved: Pieces held for reservations or orders.
        display_only: True if the store's pieces are display pieces, not for sale.
        settings: The tenant's thresholds.

    Returns:
        The quantity to report (0 unless it may be shown), the level, and whether the shop may show the number.
    """
    if display_only and on_hand > 0:
        return Level(0, stock_pb2.AVAILABILITY_DISPLAY_ONLY, False)
    available = max(0, on_hand - max(0, reserved))
    if available == 0:
        return Level(0, stock_pb2.AVAILABILITY_OUT_OF_STOCK, False)
    level = (
        stock_pb2.AVAILABILITY_LOW_STOCK
        if available <= settings.low_stock_threshold
        else stock_pb2.AVAILABILITY_IN_STOCK
    )
    if available <= settings.show_quantity_max:
        return Level(available, level, True)
    return Level(0, level, False)


def is_available(level: Level) -> bool:
    """True unless the variant is out of stock (``only_available`` keeps display pieces: they can be tried on)."""
    return level.availability != stock_pb2.AVAILABILITY_OUT_OF_STOCK

"""Order inquiry (Auftragsauskunft): a customer's orders, live from the ERP, shaped for the shop.

Importing this package declares the ``orders_*`` queries to the mapping loader (see :mod:`.specs`).
"""

from __future__ import annotations

from . import specs
from .invoices import InvoiceFile
from .queries import OrderQueries
from .settings import DEFAULT_CARRIERS, GuestView, OrderSettings, Visibility
from .status import LineFacts, OrderFacts, ReturnFacts, line_status, order_status
from .values import money

__all__ = [
    "DEFAULT_CARRIERS",
    "GuestView",
    "InvoiceFile",
    "LineFacts",
    "OrderFacts",
    "OrderQueries",
    "OrderSettings",
    "ReturnFacts",
    "Visibility",
    "line_status",
    "money",
    "order_status",
    "specs",
]

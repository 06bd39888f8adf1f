"""Online Connect: live order status and branch-store stock from the merchant's ERP to online shops."""

from __future__ import annotations

__version__ = "0.1.0"

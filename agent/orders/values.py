"""Conversions between ERP values and API values, and the request field checks shared by every order call.

ERP databases hand back dates as ``date``/``datetime`` objects or as text, flags as 0/1 or booleans, and money as
integers in minor units; the API wants ISO 8601 strings, booleans and exact :class:`Money`. Converting in one
place keeps every query result shaped the same whatever the driver.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from onlineconnect.errors import InvalidArgument
from onlineconnect.v1 import common_pb2

# ISO 4217 currencies without cents; every other currency is assumed to have two decimals.
_ZERO_DECIMAL = frozenset({"JPY", "KRW", "ISK", "CLP", "VND"})
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def money(amount_minor: int, currency: str = "EUR") -> common_pb2.Money:
    """Builds an exact Money: ``money(11445)`` is 11445 cents, decimal "114.45".

    Args:
        amount_minor: Amount in the currency's minor unit; may be negative (credit notes, vouchers).
        currency: ISO 4217 code.
    """
    currency = (currency or "EUR").strip().upper()
    amount = int(amount_minor)
    if currency in _ZERO_DECIMAL:
        decimal = str(amount)
    else:
        sign = "-" if amount < 0 else ""
        whole, cents = divmod(abs(amount), 100)
        decimal = f"{sign}{whole}.{cents:02d}"
    return common_pb2.Money(amount_minor=amount, currency=currency, decimal=decimal)


def iso_date(value: Any) -> str:
    """Returns a date from the ERP as "YYYY-MM-DD"; "" for NULL.

    Args:
        value: ``date``, ``datetime`` or text starting with an ISO date.
    """
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text[:10]


def timestamp(value: Any) -> Timestamp:
    """Returns an ERP timestamp as a protobuf Timestamp; naive values are taken as UTC.

    Args:
        value: ``datetime``, ``date`` or ISO 8601 text ("2014-07-13T09:12:00Z").
    """
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, date):
        at = datetime(value.year, value.month, value.day)
    else:
        at = datetime.fromisoformat(str(value).strip())
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    ts = Timestamp()
    ts.FromDatetime(at)
    return ts


def flag(value: Any) -> bool:
    """Reads an ERP flag: 1/0, True/False, "J"/"N", "Y"/"N" (the same forms in every query); NULL is False."""
    if isinstance(value, str):
        return value.strip().upper() in {"1", "J", "Y", "T", "TRUE", "JA", "YES"}
    return bool(value)


def qty(value: Any) -> int:
    """Reads an ERP quantity; NULL is 0. A NUMERIC quantity must be whole: a fraction is an error, never truncated.

    Raises:
        ValueError: a fraction or text that is no number (the database layer refuses such rows first).
    """
    if value is None:
        return 0
    if type(value) is int:
        return value
    n = int(value)
    if n != value and str(n) != str(value).strip():
        raise ValueError(f"not a whole number: {value!r}")
    return n


def text(value: Any) -> str:
    """Reads an ERP text column, trimmed (fixed-width CHAR columns pad with blanks); NULL is ""."""
    return "" if value is None else str(value).strip()


def require_number(value: str, field_name: str) -> str:
    """Checks a customer or order number: required, 1-32 printable characters.

    Args:
        value: The request field.
        field_name: The field's name for the error message.

    Raises:
        InvalidArgument: naming the field.
    """
    if not value:
        raise InvalidArgument(f"{field_name} is required")
    if len(value) > 32:
        raise InvalidArgument(f"{field_name} must be at most 32 characters")
    if not value.isprintable() or not value.strip():
        raise InvalidArgument(f"{field_name} must consist of printable characters")
    return value


def require_id(value: str, field_name: str, *, max_len: int = 64) -> str:
    """Checks an opaque id field (document_id): required, printable, bounded.

    Raises:
        InvalidArgument: naming the field.
    """
    if not value:
        raise InvalidArgument(f"{field_name} is required")
    if len(value) > max_len or not value.isprintable() or not value.strip():
        raise InvalidArgument(f"{field_name} must be 1-{max_len} printable characters")
    return value


def optional_date(value: str, field_name: str) -> str | None:
    """Checks an optional ISO 8601 date field ("2014-07-13"); returns None when empty.

    Raises:
        InvalidArgument: naming the field, if the value is not a real calendar date.
    """
    if not value:
        return None
    if not _ISO_DATE.match(value):
        raise InvalidArgument(f"{field_name} must be an ISO 8601 date like 2014-07-13, not {value[:40]!r}")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidArgument(f"{field_name} is not a valid calendar date: {value!r}") from None

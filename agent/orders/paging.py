"""Opaque page tokens of ListOrders: a keyset cursor bound to the customer and the filters.

A token is base64url of a small JSON document: the (order date, order number) of the last order on the page, a
digest of the request it belongs to (customer number, filter, date range) and a checksum over both. Keyset paging
(not offsets) keeps pages stable while the ERP adds new orders at the top.

The checksum is not a secret-keyed MAC, and need not be: the query always runs for the request's own customer
number, so a forged cursor can only move within that customer's orders. The checks exist to answer a mangled or
re-used token with INVALID_ARGUMENT naming ``page_token`` instead of a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from onlineconnect.errors import InvalidArgument

_VERSION = 1
_SALT = b"onlineconnect.orders.page_token.v1"
_MAX_LEN = 512
_FIELD = "page_token"


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: strictly after this order in newest-first order."""

    order_date: str
    order_number: str


def _digest(*parts: str) -> str:
    h = hashlib.sha256(_SALT)
    for p in parts:
        data = p.encode("utf-8")
        # Length-prefix each part so ("ab", "c") and ("a", "bc") differ.
        h.update(len(data).to_bytes(4, "big") + data)
    return h.hexdigest()[:24]


def binding(customer_number: str, order_filter: int, from_date: str | None, to_date: str | None) -> str:
    """Returns the digest that ties a token to one customer and one set of filters."""
    return _digest(customer_number, str(order_filter), from_date or "", to_date or "")


def encode(cursor: Cursor, bound_to: str) -> str:
    """Encodes ``cursor`` for the request identified by ``bound_to`` (see :func:`binding`)."""
    body = {"v": _VERSION, "b": bound_to, "d": cursor.order_date, "n": cursor.order_number}
    body["c"] = _digest(bound_to, cursor.order_date, cursor.order_number)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str, bound_to: str) -> Cursor:
    """Decodes a token of a previous page.

    Args:
        token: The request's ``page_token`` (non-empty).
        bound_to: The digest of the current request (see :func:`binding`).

    Raises:
        InvalidArgument: naming ``page_token`` if it is malformed, tampered with, or from another customer or
            other filters.
    """
    if len(token) > _MAX_LEN:
        raise InvalidArgument(f"{_FIELD} is not a token this service issued")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidArgument(f"{_FIELD} is not a token this service issued") from None
    if not isinstance(body, dict) or body.get("v") != _VERSION:
        raise InvalidArgument(f"{_FIELD} is not a token this service issued")
    b, d, n, c = body.get("b"), body.get("d"), body.get("n"), body.get("c")
    if not all(isinstance(x, str) for x in (b, d, n, c)):
        raise InvalidArgument(f"{_FIELD} is not a token this service issued")
    assert isinstance(b, str) and isinstance(d, str) and isinstance(n, str)
    if c != _digest(b, d, n):
        raise InvalidArgument(f"{_FIELD} has been altered")
    if b != bound_to:
        raise InvalidArgument(f"{_FIELD} belongs to another customer or other filters; start again without it")
    return Cursor(order_date=d, order_number=n)

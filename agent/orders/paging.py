"""Opaque page tokens of ListOrders: a keyset cursor, sealed to the tenant, the customer and the filters.

A token is base64url of a small JSON document: the (order date, order number) of the last order on the page, a
binding of the request it belongs to (tenant, customer number, filter, date range) and a tag over both. Keyset
paging (not offsets) keeps pages stable while the ERP adds new orders at the top.

Binding and tag are HMAC-SHA256 under a key derived from the tenant key (:func:`page_key`), so only an agent of
the tenant can issue a token, a token cannot be edited, and it reveals nothing about the customer it belongs to.
Presented by another customer, or with other filters, it is refused with INVALID_ARGUMENT naming ``page_token``;
presented to another tenant (whose agents hold another key) it fails the tag and is refused the same way. The
query always runs for the request's own customer number in any case; the checks answer a foreign, mangled or
re-used token with a clear error instead of a silently wrong page.

Every agent of a tenant derives the same key, so a token issued by one is accepted by the others (several
agents per tenant). After the tenant key is rotated, tokens issued under the old key are refused: the shop
starts the listing again without a token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from dataclasses import dataclass

from onlineconnect.errors import InvalidArgument

_VERSION = 2
_LABEL = b"onlineconnect/v1 orders page_token"
_MAX_LEN = 512
_FIELD = "page_token"
# Used where no tenant key is given (tests, embedded use): tokens are then valid within this process only.
_PROCESS_KEY = os.urandom(32)


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: strictly after this order in newest-first order."""

    order_date: str
    order_number: str


def page_key(tenant_key: bytes | None) -> bytes:
    """The key page tokens are sealed with, derived from the tenant key (None: a random key of this process)."""
    if tenant_key is None:
        return _PROCESS_KEY
    return hmac.new(tenant_key, _LABEL, hashlib.sha256).digest()


def _mac(key: bytes, *parts: str) -> str:
    h = hmac.new(key, _LABEL, hashlib.sha256)
    for p in parts:
        data = p.encode("utf-8")
        # Length-prefix each part so ("ab", "c") and ("a", "bc") differ.
        h.update(len(data).to_bytes(4, "big") + data)
    return h.hexdigest()[:32]


def binding(
    key: bytes, tenant: str, customer_number: str, order_filter: int, from_date: str | None, to_date: str | None
) -> str:
    """Returns the keyed digest that ties a token to one tenant, one customer and one set of filters."""
    return _mac(key, "binding", tenant, customer_number, str(order_filter), from_date or "", to_date or "")


def encode(cursor: Cursor, bound_to: str, key: bytes) -> str:
    """Encodes ``cursor`` for the request identified by ``bound_to`` (see :func:`binding`)."""
    body = {"v": _VERSION, "b": bound_to, "d": cursor.order_date, "n": cursor.order_number}
    body["c"] = _mac(key, "cursor", bound_to, cursor.order_date, cursor.order_number)
    raw = json.dumps(body, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode(token: str, bound_to: str, key: bytes) -> Cursor:
    """Decodes a token of a previous page.

    Args:
        token: The request's ``page_token`` (non-empty).
        bound_to: The binding of the current request (see :func:`binding`).
        key: The page key (see :func:`page_key`).

    Raises:
        InvalidArgument: naming ``page_token`` if it is malformed, altered, issued for another tenant, or issued
            for another customer or other filters.
    """
    if len(token) > _MAX_LEN:
        raise InvalidArgument(f"{_FIELD} is not a token this service issued")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidArgument(f"{_FIELD} is not a token this service issued") from None
    if not isinstance(body, dict) or body.get("v") != _VERSION:
        raise InvalidArgument(f"{_FIELD} is not a token this service issued; start again without it")
    b, d, n, c = body.get("b"), body.get("d"), body.get("n"), body.get("c")
    if not (isinstance(b, str) and isinstance(d, str) and isinstance(n, str) and isinstance(c, str)):
        raise InvalidArgument(f"{_FIELD} is not a token this service issued")
    if not hmac.compare_digest(c, _mac(key, "cursor", b, d, n)):
        raise InvalidArgument(f"{_FIELD} was altered or issued for another tenant; start again without it")
    if not hmac.compare_digest(b, bound_to):
        raise InvalidArgument(f"{_FIELD} belongs to another customer or other filters; start again without it")
    return Cursor(order_date=d, order_number=n)

"""The storefront session in a signed cookie: who is signed in, the language, the cart and a form token.

The cookie is ``base64(json) "." base64(HMAC-SHA256)``; the key is random per process, so a restart signs everyone
out. Anything the buyer changes in the cookie breaks the signature and yields an empty session: the customer number
the API calls carry can only come from the shop's own sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

COOKIE = "oc_shop"
#: Cart lines kept at most; keeps the cookie well below the browsers' 4 KB limit.
MAX_CART_LINES = 20


@dataclass
class CartLine:
    """One cart line: what the shop's checkout needs to price and ship it."""

    article: str
    sku: str
    description: str
    quantity: int
    price_minor: int | None  # None when the merchant hides prices


@dataclass
class Session:
    """The signed-in customer (empty when signed out), the page language, the cart, one-time notes, a form token."""

    customer: str = ""
    lang: str = "de"
    cart: list[CartLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # shown once on the next page (after a redirect), then dropped
    form_token: str = ""  # the anti-forgery token of the forms that ask the ERP without a sign-in

    def new_form_token(self) -> str:
        """The session's form token, created on first use."""
        if not self.form_token:
            self.form_token = secrets.token_urlsafe(18)
        return self.form_token

    def form_token_ok(self, sent: str) -> bool:
        """Whether ``sent`` is this session's form token (a post from another site carries no session at all)."""
        return bool(self.form_token) and hmac.compare_digest(sent.encode(), self.form_token.encode())

    def add(self, line: CartLine) -> None:
        """Adds ``line``, merging it into an existing line of the same article variant."""
        for existing in self.cart:
            if (existing.article, existing.sku) == (line.article, line.sku):
                existing.quantity += line.quantity
                return
        if len(self.cart) < MAX_CART_LINES:
            self.cart.append(line)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and checks session cookies with an HMAC key."""

    def __init__(self, key: bytes | None = None) -> None:
        """Uses ``key``, or a fresh random 256-bit key (one per process)."""
        self._key = key or secrets.token_bytes(32)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def dump(self, session: Session) -> str:
        """The cookie value for ``session``."""
        data: dict[str, Any] = {
            "c": session.customer,
            "l": session.lang,
            "k": [vars(x) for x in session.cart],
            "n": session.notes,
            "f": session.form_token,
        }
        payload = _b64(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{payload}.{self._mac(payload)}"

    def load(self, value: str | None) -> Session:
        """The session in a cookie value; an empty session if it is missing, malformed or not signed by us."""
        if not value or "." not in value:
            return Session()
        payload, mac = value.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(payload)):
            return Session()
        try:
            data = json.loads(_unb64(payload))
            return Session(
                customer=str(data["c"]),
                lang=data["l"] if data["l"] in ("de", "en") else "de",
                cart=[CartLine(**x) for x in data["k"]],
                notes=[str(n) for n in data["n"]],
                form_token=str(data.get("f", "")),
            )
        except (ValueError, KeyError, TypeError):
            return Session()

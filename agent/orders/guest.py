"""Guest order lookup: an order number and a postcode (optionally last name, e-mail) instead of a shop account.

The customer types what is printed on the confirmation letter or the invoice; the ERP holds what the merchant
entered. Both sides are normalised the same way before they are compared, and then compared exactly:

* postcode: spaces and hyphens removed, case folded ("68 766" = "68766", "sw1a-2aa" = "SW1A 2AA");
* last name: case folded, umlauts and ß spelled out ("Müller" = "MUELLER" = "mueller", "Strauß" = "STRAUSS"),
  spaces collapsed;
* e-mail: case folded, surrounding blanks removed; compared only when the ERP has an e-mail for the customer.

A pair that does not match is indistinguishable from an unknown order number: same status, same message, and the
same work on the agent (the one lookup query runs in both cases; only a match reads the order itself). Nothing the
customer typed is logged or audited here: postcode, name and e-mail are personal data and the key to the order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from onlineconnect.errors import InvalidArgument
from onlineconnect.v1 import orders_pb2 as pb

from .values import require_number, text

MAX_POSTCODE = 16
MAX_LAST_NAME = 100
MAX_EMAIL = 254  # RFC 5321's limit for a forward path

_SPELLED = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})
_POSTCODE_JUNK = re.compile(r"[\s\-]+")
_POSTCODE_OK = re.compile(r"^[0-9a-z]+$")
_BLANKS = re.compile(r"\s+")


def postcode_key(value: str) -> str:
    """The postcode as compared: without spaces and hyphens, case folded."""
    return _POSTCODE_JUNK.sub("", value).casefold()


def name_key(value: str) -> str:
    """The last name as compared: case folded, umlauts and ß spelled out, blanks collapsed.

    Case folding comes first so that "Ä" and "ä" spell out alike; ``casefold`` itself already turns "ß" into "ss".
    """
    return _BLANKS.sub(" ", value.casefold().translate(_SPELLED)).strip()


def email_key(value: str) -> str:
    """The e-mail address as compared: case folded, without surrounding blanks."""
    return value.strip().casefold()


@dataclass(frozen=True)
class GuestQuery:
    """A checked LookupGuestOrder request, its typed parts normalised for matching."""

    order_number: str
    postcode: str
    last_name: str
    email: str


def check_request(req: pb.LookupGuestOrderRequest) -> GuestQuery:
    """Checks the request's fields and normalises them.

    Raises:
        InvalidArgument: naming ``order_number``, ``postcode``, ``last_name`` or ``email``; the message never
            repeats the value (it may be personal data).
    """
    number = require_number(req.order_number.strip(), "order_number")
    if not req.postcode.strip():
        raise InvalidArgument("postcode is required (the postcode of the order's invoice or delivery address)")
    postcode = postcode_key(req.postcode)
    if len(req.postcode) > MAX_POSTCODE or not _POSTCODE_OK.match(postcode):
        raise InvalidArgument(
            f"postcode must be at most {MAX_POSTCODE} letters and digits (spaces and hyphens are ignored)"
        )
    if len(req.last_name) > MAX_LAST_NAME or (req.last_name and not req.last_name.isprintable()):
        raise InvalidArgument(f"last_name must be at most {MAX_LAST_NAME} printable characters")
    if len(req.email) > MAX_EMAIL or (req.email and ("@" not in req.email or not req.email.isprintable())):
        raise InvalidArgument(f"email must be an e-mail address of at most {MAX_EMAIL} characters")
    return GuestQuery(
        order_number=number,
        postcode=postcode,
        last_name=name_key(req.last_name),
        email=email_key(req.email),
    )


def matching_customer(query: GuestQuery, rows: Iterable[Mapping[str, Any]]) -> str | None:
    """The customer number of the order if one of its addresses matches the query, else None.

    Args:
        query: The checked request.
        rows: ``orders_guest`` rows: one per address of the order (none for an unknown order number).

    Every row is compared whatever the outcome, so a match costs the same as a miss.
    """
    found: str | None = None
    for row in rows:
        ok = postcode_key(text(row.get("postcode"))) == query.postcode
        if query.last_name:
            ok = ok and name_key(text(row.get("last_name"))) == query.last_name
        erp_email = email_key(text(row.get("email")))
        if query.email and erp_email:
            ok = ok and erp_email == query.email
        if ok and found is None:
            found = text(row.get("customer_number"))
    return found or None

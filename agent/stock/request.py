"""Validation of stock requests: SKUs, the customer's location and the store limits.

Every error is an :class:`InvalidArgument` whose message starts with the offending field's name
(``sku``, ``skus``, ``location.latitude``, ``location.postcode``, ``radius_km``, ``max_stores`` …), so a shop
developer sees at once what to fix.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

from onlineconnect.errors import InvalidArgument
from onlineconnect.v1 import stock_pb2

from .postcodes import PostcodeTable
from .settings import MAX_STORES_LIMIT, StockSettings

MAX_SKU_LENGTH = 64
MAX_BATCH = 100
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_POSTCODE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z \-]{0,15}$")


@dataclass(frozen=True)
class Origin:
    """The customer's position, resolved to coordinates."""

    latitude: float
    longitude: float


@dataclass(frozen=True)
class StoreFilter:
    """Which stores an answer lists, and in what order.

    Attributes:
        origin: Where the customer is, or None (then stores come in the configured store order).
        radius_km: Only stores within this distance; 0 for no limit.
        max_stores: At most this many stores (already capped by the settings).
        only_available: Leave out stores where the variant is out of stock.
    """

    origin: Origin | None
    radius_km: float
    max_stores: int
    only_available: bool


def sku_problem(sku: str) -> str | None:
    """Returns why ``sku`` is not a valid SKU, or None when it is one."""
    if not sku:
        return "is required"
    if len(sku) > MAX_SKU_LENGTH:
        return f"must be at most {MAX_SKU_LENGTH} characters, got {len(sku)}"
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs"} for c in sku):
        return "must not contain control characters"
    return None


def check_sku(sku: str) -> str:
    """Returns ``sku`` if valid.

    Raises:
        InvalidArgument: naming the field ``sku``.
    """
    problem = sku_problem(sku)
    if problem:
        raise InvalidArgument(f"sku {problem}")
    return sku


def check_skus(skus: list[str]) -> list[str]:
    """Checks the batch size and returns the distinct SKUs in first-seen order (invalid ones included).

    Raises:
        InvalidArgument: naming ``skus`` when there are none or more than 100.
    """
    if not skus:
        raise InvalidArgument("skus must hold at least one SKU")
    if len(skus) > MAX_BATCH:
        raise InvalidArgument(f"skus must hold at most {MAX_BATCH} SKUs, got {len(skus)}")
    return list(dict.fromkeys(skus))


def resolve_location(location: stock_pb2.Location, postcodes: PostcodeTable) -> Origin | None:
    """Turns the request's location into coordinates; None when none was given.

    Coordinates win when both they and a postcode are given: they are the more precise of the two.

    Raises:
        InvalidArgument: naming ``location.latitude``, ``location.longitude``, ``location.country`` or
            ``location.postcode``.
    """
    lat, lon = location.latitude, location.longitude
    if lat != 0 or lon != 0:
        if not math.isfinite(lat) or not -90 <= lat <= 90:
            raise InvalidArgument(f"location.latitude must be between -90 and 90 degrees, got {lat}")
        if not math.isfinite(lon) or not -180 <= lon <= 180:
            raise InvalidArgument(f"location.longitude must be between -180 and 180 degrees, got {lon}")
        return Origin(lat, lon)
    postcode = location.postcode.strip()
    if not postcode:
        if location.country.strip():
            raise InvalidArgument("location.postcode is required with location.country (or give coordinates)")
        return None
    if not _POSTCODE.match(postcode):
        raise InvalidArgument("location.postcode must be 1-16 letters, digits, spaces or '-'")
    country = location.country.strip().upper()
    if not country:
        raise InvalidArgument('location.country is required with location.postcode (ISO 3166-1 alpha-2, e.g. "DE")')
    if not _COUNTRY.match(country):
        raise InvalidArgument(
            f'location.country must be an ISO 3166-1 alpha-2 code like "DE", got {location.country!r}'
        )
    place = postcodes.lookup(country, postcode)
    if place is None:
        raise InvalidArgument(f"location.postcode {postcode!r} is not in the agent's postcode table for {country}")
    return Origin(place.latitude, place.longitude)


def store_filter(
    *,
    location: stock_pb2.Location | None,
    radius_km: float,
    max_stores: int,
    only_available: bool,
    postcodes: PostcodeTable,
    settings: StockSettings,
) -> StoreFilter:
    """Validates the shared store options of GetStoreStock and BatchGetStoreStock.

    Args:
        location: The request's location, or None when the field is not set.
        radius_km: Radius limit in km, 0 for none.
        max_stores: Store count limit, 0 for all.
        only_available: Leave out stores without available stock.
        postcodes: The tenant's postcode table.
        settings: The tenant's stock settings (cap on stores).

    Raises:
        InvalidArgument: naming the offending field.
    """
    origin = resolve_location(location, postcodes) if location is not None else None
    if not math.isfinite(radius_km) or radius_km < 0:
        raise InvalidArgument(f"radius_km must be 0 (no limit) or a positive number of km, got {radius_km}")
    if radius_km > 0 and origin is None:
        raise InvalidArgument("radius_km needs a location (coordinates or postcode + country)")
    if not 0 <= max_stores <= MAX_STORES_LIMIT:
        raise InvalidArgument(f"max_stores must be 0 (all) to {MAX_STORES_LIMIT}, got {max_stores}")
    cap = settings.max_stores if max_stores == 0 else min(max_stores, settings.max_stores)
    return StoreFilter(origin=origin, radius_km=radius_km, max_stores=cap, only_available=only_available)

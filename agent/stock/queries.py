"""Store stock from the ERP: the GetStoreStock and BatchGetStoreStock answers.

Both RPCs run the same code: the single call is a batch of one SKU. A call runs at most five mapped queries,
whatever the number of SKUs (list parameters expand to ``IN (…)``):

1. ``stock_variants``       article data of the requested SKUs (unknown SKUs are simply absent);
2. ``stock_levels``         stock rows of those SKUs in every store;
3. ``stock_stores``         the active branch stores;
4. ``stock_opening_hours``  regular opening periods of all stores;
5. ``stock_closing_days``   exceptional closing days from today up to ``closing_days_ahead``.

Queries 2-5 are skipped when no requested SKU exists. The methods block; the agent runs them in worker threads.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from onlineconnect.errors import NotFound, OnlineConnectError
from onlineconnect.v1 import stock_pb2

from ..context import CallContext
from ..erp.db import Database, Row
from ..erp.mapping import register
from ..orders.values import flag
from .availability import classify, is_available
from .postcodes import PostcodeTable, haversine_km
from .request import StoreFilter, check_sku, check_skus, sku_problem, store_filter
from .settings import StockSettings

VARIANTS = register(
    "stock_variants",
    params=["skus"],
    columns=["sku", "article_number", "name", "colour", "size"],
    doc="Article data of the variants in :skus (a list; one row per known SKU).",
)
LEVELS = register(
    "stock_levels",
    params=["skus"],
    columns=["sku", "store_id", "on_hand", "reserved", "display_only"],
    doc="Stock rows of the variants in :skus, one per variant and store (a missing row means none in stock).",
)
STORES = register(
    "stock_stores",
    params=[],
    columns=[
        "store_id",
        "name",
        "street",
        "postcode",
        "city",
        "country",
        "phone",
        "latitude",
        "longitude",
        "sort_order",
        "pickup_possible",
    ],
    doc="The branch stores shown to customers (active ones only).",
)
HOURS = register(
    "stock_opening_hours",
    params=[],
    columns=["store_id", "weekday", "opens", "closes"],
    doc="Regular opening periods: ISO weekday 1-7, opens/closes as HH:MM; several rows per day for lunch breaks.",
)
CLOSING = register(
    "stock_closing_days",
    params=["today", "until"],
    columns=["store_id", "closed_on", "reason"],
    doc="Exceptional closing days between :today and :until (ISO date strings), both inclusive.",
)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class _Store:
    """A store as read once per call, shared by the answers of all SKUs."""

    message: stock_pb2.Store
    sort_order: int
    pickup_possible: bool
    distance_km: float | None = None


class StockQueries:
    """Answers stock requests of one tenant from its ERP database.

    Args:
        db: The tenant's ERP database with the mapping's ``stock_*`` queries.
        settings: The tenant's stock settings.
        postcodes: Postcode table; by default loaded from ``settings.postcode_file`` (or the shipped demo table).
        clock: Returns the current time (aware); tests pin it. It dates ``data_as_of`` and picks "today" for
            the upcoming closing days.

    Raises:
        ConfigError: the postcode file cannot be read or is malformed.
    """

    def __init__(
        self,
        db: Database,
        settings: StockSettings,
        *,
        postcodes: PostcodeTable | None = None,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.db = db
        self.settings = settings
        self.postcodes = (
            postcodes
            if postcodes is not None
            else PostcodeTable.load(settings.postcode_file, default_country=settings.default_country)
        )
        self._clock = clock

    def get_store_stock(self, req: stock_pb2.GetStoreStockRequest, ctx: CallContext) -> stock_pb2.GetStoreStockResponse:
        """Stock of one variant in every branch store, nearest first when a location is given.

        Raises:
            InvalidArgument: a request field is malformed; the message names it.
            NotFound: the SKU is not in the ERP.
            Unavailable, DeadlineExceeded: from the database layer.
        """
        sku = check_sku(req.sku)
        flt = self._filter(req)
        found = self._answer([sku], flt, ctx)
        if sku not in found:
            raise NotFound(f"unknown sku {sku!r}")
        return found[sku]

    def batch_get_store_stock(
        self, req: stock_pb2.BatchGetStoreStockRequest, ctx: CallContext
    ) -> stock_pb2.BatchGetStoreStockResponse:
        """Stock of up to 100 variants; one entry per distinct SKU in request order.

        An unknown SKU gets an entry with code 5 (NOT_FOUND), a malformed one code 3 (INVALID_ARGUMENT); the
        others succeed.

        Raises:
            InvalidArgument: ``skus`` is empty or too long, or a shared option (location, radius_km, max_stores)
                is malformed.
            Unavailable, DeadlineExceeded: from the database layer.
        """
        skus = check_skus(list(req.skus))
        position = {s: i for i, s in reversed(list(enumerate(req.skus)))}  # first index, for error messages
        flt = self._filter(req)
        problems = {s: p for s in skus if (p := sku_problem(s))}
        found = self._answer([s for s in skus if s not in problems], flt, ctx)
        out = stock_pb2.BatchGetStoreStockResponse()
        for sku in skus:
            entry = out.entries.add(sku=sku)
            if sku in problems:
                entry.code, entry.message = 3, f"skus[{position[sku]}] {problems[sku]}"
            elif sku not in found:
                entry.code, entry.message = 5, f"unknown sku {sku!r}"
            else:
                entry.stock.CopyFrom(found[sku])
        return out

    def _filter(self, req: stock_pb2.GetStoreStockRequest | stock_pb2.BatchGetStoreStockRequest) -> StoreFilter:
        return store_filter(
            location=req.location if req.HasField("location") else None,
            radius_km=req.radius_km,
            max_stores=req.max_stores,
            only_available=req.only_available,
            postcodes=self.postcodes,
            settings=self.settings,
        )

    def _fetch(self, name: str, params: Mapping[str, Any], ctx: CallContext) -> list[Row]:
        ctx.check()
        rows = self.db.fetch(name, params, timeout=ctx.remaining())
        # Some ERPs (ADS, Oracle) report upper-case column names; the mapping's aliases are matched ignoring case.
        return [{k.lower(): v for k, v in r.items()} for r in rows]

    def _answer(
        self, skus: list[str], flt: StoreFilter, ctx: CallContext
    ) -> dict[str, stock_pb2.GetStoreStockResponse]:
        """The answers for valid ``skus``; unknown SKUs are absent. Runs a fixed number of queries."""
        if not skus:
            return {}
        now = self._clock()
        as_of = Timestamp()
        as_of.FromDatetime(now.astimezone(dt.UTC))
        variants = {str(r["sku"]): r for r in self._fetch(VARIANTS.name, {"skus": skus}, ctx)}
        known = [s for s in skus if s in variants]
        if not known:
            return {}
        levels: dict[str, dict[str, Row]] = defaultdict(dict)
        for r in self._fetch(LEVELS.name, {"skus": known}, ctx):
            levels[str(r["sku"])][str(r["store_id"]).strip()] = r
        stores = self._stores(now, flt, ctx)
        out: dict[str, stock_pb2.GetStoreStockResponse] = {}
        for sku in known:
            v = variants[sku]
            resp = stock_pb2.GetStoreStockResponse(
                article=stock_pb2.Article(
                    sku=sku,
                    article_number=_text(v["article_number"]),
                    name=_text(v["name"]),
                    colour=_text(v["colour"]),
                    size=_text(v["size"]),
                )
            )
            resp.data_as_of.CopyFrom(as_of)
            for store in stores:
                if len(resp.stores) >= flt.max_stores:
                    break
                row = levels[sku].get(store.message.store_id)
                level = classify(
                    _int(row["on_hand"]) if row else 0,
                    _int(row["reserved"]) if row else 0,
                    flag(row["display_only"]) if row else False,
                    self.settings,
                )
                if flt.only_available and not is_available(level):
                    continue
                resp.stores.add(
                    store=store.message,
                    quantity_available=level.quantity_available,
                    availability=level.availability,
                    show_quantity=level.show_quantity,
                    pickup_possible=store.pickup_possible,
                    distance_km=round(store.distance_km or 0.0, 2),
                )
            out[sku] = resp
        return out

    def _stores(self, now: dt.datetime, flt: StoreFilter, ctx: CallContext) -> list[_Store]:
        """Reads the stores with hours and closing days, drops those outside the radius, and sorts them."""
        today = now.astimezone().date()
        until = today + dt.timedelta(days=self.settings.closing_days_ahead)
        stores: dict[str, _Store] = {}
        for r in self._fetch(STORES.name, {}, ctx):
            msg = stock_pb2.Store(
                store_id=str(r["store_id"]).strip(),
                name=_text(r["name"]),
                street=_text(r["street"]),
                postcode=_text(r["postcode"]),
                city=_text(r["city"]),
                country=_text(r["country"]).upper() or self.settings.default_country,
                phone=_text(r["phone"]),
                latitude=_float(r["latitude"]) or 0.0,
                longitude=_float(r["longitude"]) or 0.0,
            )
            store = _Store(msg, _int(r["sort_order"]), flag(r["pickup_possible"]))
            lat, lon = _float(r["latitude"]), _float(r["longitude"])
            if flt.origin is not None and lat is not None and lon is not None:
                store.distance_km = haversine_km(flt.origin.latitude, flt.origin.longitude, lat, lon)
            stores[msg.store_id] = store
        hours: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
        for r in self._fetch(HOURS.name, {}, ctx):
            hours[str(r["store_id"]).strip()].append((_int(r["weekday"]), _hhmm(r["opens"]), _hhmm(r["closes"])))
        closing: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for r in self._fetch(CLOSING.name, {"today": today.isoformat(), "until": until.isoformat()}, ctx):
            closing[str(r["store_id"]).strip()].append((_iso_date(r["closed_on"]), _text(r["reason"])))
        for store_id, s in stores.items():
            # Sorted here rather than relying on the mapping's ORDER BY: a merchant's SQL may not sort.
            for weekday, opens, closes in sorted(hours[store_id]):
                s.message.opening_hours.add(weekday=weekday, opens=opens, closes=closes)
            for day, reason in sorted(closing[store_id]):
                s.message.closing_days.add(date=day, reason=reason)
        result = list(stores.values())
        if flt.origin is None:
            result.sort(key=lambda s: (s.sort_order, s.message.store_id))
            return result
        if flt.radius_km > 0:
            result = [s for s in result if s.distance_km is not None and s.distance_km <= flt.radius_km]
        # Stores without coordinates go last: their distance is unknown, not zero.
        result.sort(key=lambda s: (s.distance_km is None, s.distance_km or 0.0, s.sort_order, s.message.store_id))
        return result


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any) -> int:
    """ERP columns arrive as int, Decimal, bool, str or NULL; NULL counts as 0."""
    if value is None or value == "":
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise OnlineConnectError(f"ERP returned a non-numeric value {value!r} where a number belongs") from None


def _float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)


def _hhmm(value: Any) -> str:
    """``09:30`` from a TIME value or text like ``9:30`` / ``09:30:00``."""
    if isinstance(value, dt.time | dt.datetime):
        return value.strftime("%H:%M")
    text = _text(value)
    hours, _, rest = text.partition(":")
    return f"{int(hours):02d}:{rest[:2]}" if hours.isdigit() and rest[:2].isdigit() else text


def _iso_date(value: Any) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()[:10]
    return _text(value)[:10]

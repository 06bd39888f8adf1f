"""Tests of the stock inquiry against the demo ERP (SQLite, default mapping)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from onlineconnect.agent.erp.db import Database, validate
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.agent.stock.testing import DEMO_NOW, context, demo_database
from onlineconnect.errors import DeadlineExceeded, InvalidArgument, NotFound
from onlineconnect.testing.fakes import CountingDatabase
from onlineconnect.v1 import stock_pb2

SHEET_SKU = "851888-XS-KI"
STUTTGART = stock_pb2.Location(latitude=48.7758, longitude=9.1829)
HOCKENHEIM_PLZ = stock_pb2.Location(postcode="68766", country="DE")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    """The demo ERP, built once for this module (the queries only read)."""
    return demo_database(tmp_path_factory.mktemp("erp"))


def queries(db: Database, settings: StockSettings | None = None) -> StockQueries:
    return StockQueries(db, settings or StockSettings(), clock=lambda: DEMO_NOW)


def get(db: Database, settings: StockSettings | None = None, **fields: Any) -> stock_pb2.GetStoreStockResponse:
    return queries(db, settings).get_store_stock(stock_pb2.GetStoreStockRequest(**fields), context())


def by_id(resp: stock_pb2.GetStoreStockResponse) -> dict[str, stock_pb2.StoreStock]:
    return {s.store.store_id: s for s in resp.stores}


def test_sheet_example_one_piece_in_hockenheim(db: Database) -> None:
    """851888-XS-KI shows MEGA STORE Hockenheim with exactly 1 available piece that may be shown."""
    resp = get(db, sku=SHEET_SKU)
    assert (resp.article.article_number, resp.article.name) == ("851888", "STEEDS Poloshirt Lilli")
    assert (resp.article.colour, resp.article.size) == ("kirsch", "XS")
    hockenheim = by_id(resp)["F01"]
    assert hockenheim.store.name == "MEGA STORE Hockenheim"
    assert (hockenheim.store.postcode, hockenheim.store.city, hockenheim.store.country) == ("68766", "Hockenheim", "DE")
    assert hockenheim.quantity_available == 1 and hockenheim.show_quantity
    assert hockenheim.availability == stock_pb2.AVAILABILITY_LOW_STOCK
    assert hockenheim.pickup_possible
    assert resp.data_as_of.ToDatetime().replace(tzinfo=DEMO_NOW.tzinfo) == DEMO_NOW


def test_levels_of_every_kind(db: Database) -> None:
    """The demo spreads the sheet's SKU over out-of-stock, display-only, low and in-stock stores."""
    stores = by_id(get(db, sku=SHEET_SKU))
    assert stores["F02"].availability == stock_pb2.AVAILABILITY_OUT_OF_STOCK
    assert stores["F03"].availability == stock_pb2.AVAILABILITY_DISPLAY_ONLY and stores["F03"].quantity_available == 0
    assert stores["F04"].availability == stock_pb2.AVAILABILITY_IN_STOCK and stores["F04"].quantity_available == 5
    assert stores["F05"].availability == stock_pb2.AVAILABILITY_IN_STOCK and not stores["F05"].show_quantity
    assert stores["F05"].quantity_available == 0
    assert stores["F06"].availability == stock_pb2.AVAILABILITY_OUT_OF_STOCK  # all reserved
    assert stores["F07"].quantity_available == 0  # over-reserved, never negative
    assert stores["F08"].availability == stock_pb2.AVAILABILITY_LOW_STOCK and not stores["F08"].pickup_possible


def test_custom_thresholds_change_the_answer(db: Database) -> None:
    """A tenant with show_quantity_max 20 and no low-stock level sees Stuttgart's 14 and Hockenheim as in stock."""
    stores = by_id(get(db, StockSettings(low_stock_threshold=0, show_quantity_max=20), sku=SHEET_SKU))
    assert stores["F05"].show_quantity and stores["F05"].quantity_available == 14
    assert stores["F01"].availability == stock_pb2.AVAILABILITY_IN_STOCK


def test_stable_order_without_location(db: Database) -> None:
    """Without a location stores come by sort order, then store id; inactive stores are left out; distance is 0."""
    resp = get(db, sku=SHEET_SKU)
    assert [s.store.store_id for s in resp.stores] == ["F01", "F05", "F02", "F03", "F04", "F06", "F07", "F08"]
    assert all(s.distance_km == 0 for s in resp.stores)


def test_sorted_by_distance_from_postcode(db: Database) -> None:
    """From postcode 68766 the Hockenheim store comes first and distances ascend."""
    resp = get(db, sku=SHEET_SKU, location=HOCKENHEIM_PLZ)
    assert resp.stores[0].store.name == "MEGA STORE Hockenheim"
    assert resp.stores[0].distance_km < 1
    distances = [s.distance_km for s in resp.stores]
    assert distances == sorted(distances)


def test_sorted_by_distance_from_coordinates(db: Database) -> None:
    """From Stuttgart's coordinates the Stuttgart store comes first, then Karlsruhe (~62 km) before Ulm (~73 km)."""
    resp = get(db, sku=SHEET_SKU, location=STUTTGART)
    assert [s.store.city for s in resp.stores[:3]] == ["Stuttgart", "Karlsruhe", "Ulm"]
    assert resp.stores[0].distance_km < 1


def test_radius_and_max_stores(db: Database) -> None:
    """radius_km keeps only near stores and max_stores cuts the list after sorting."""
    near = get(db, sku=SHEET_SKU, location=HOCKENHEIM_PLZ, radius_km=25)
    assert [s.store.store_id for s in near.stores] == ["F01", "F03", "F02"]
    two = get(db, sku=SHEET_SKU, location=HOCKENHEIM_PLZ, max_stores=2)
    assert [s.store.store_id for s in two.stores] == ["F01", "F03"]
    capped = get(db, StockSettings(max_stores=3), sku=SHEET_SKU)
    assert len(capped.stores) == 3


def test_only_available_drops_out_of_stock(db: Database) -> None:
    """only_available leaves out stores without stock but keeps display pieces."""
    resp = get(db, sku=SHEET_SKU, only_available=True)
    assert [s.store.store_id for s in resp.stores] == ["F01", "F05", "F03", "F04", "F08"]


def test_opening_hours_and_upcoming_closing_days(db: Database) -> None:
    """Stores carry their opening periods (lunch breaks as two) and only closing days within the horizon."""
    stores = by_id(get(db, sku=SHEET_SKU))
    freiburg_monday = [(h.opens, h.closes) for h in stores["F06"].store.opening_hours if h.weekday == 1]
    assert freiburg_monday == [("10:00", "13:00"), ("14:00", "18:30")]
    assert any(h.weekday == 7 for h in stores["F07"].store.opening_hours)
    hockenheim_days = [(d.date, d.reason) for d in stores["F01"].store.closing_days]
    assert ("2027-01-07", "Inventur") in hockenheim_days
    assert all(d >= "2026-11-27" for d, _ in hockenheim_days)
    assert "2027-06-01" not in [d.date for d in stores["F03"].store.closing_days]
    later = by_id(get(db, StockSettings(closing_days_ahead=365), sku=SHEET_SKU))
    assert "2027-06-01" in [d.date for d in later["F03"].store.closing_days]


def test_unknown_sku_is_not_found(db: Database) -> None:
    """An SKU the ERP does not know raises NotFound naming it."""
    with pytest.raises(NotFound, match="unknown sku 'NOPE-1'"):
        get(db, sku="NOPE-1")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"sku": ""}, "sku"),
        ({"sku": "x" * 65}, "sku"),
        ({"sku": "851888\n"}, "sku"),
        ({"sku": SHEET_SKU, "location": {"latitude": 91, "longitude": 8}}, "location.latitude"),
        ({"sku": SHEET_SKU, "location": {"latitude": 49, "longitude": -181}}, "location.longitude"),
        ({"sku": SHEET_SKU, "location": {"postcode": "68766"}}, "location.country"),
        ({"sku": SHEET_SKU, "location": {"postcode": "68766", "country": "Deutschland"}}, "location.country"),
        ({"sku": SHEET_SKU, "location": {"country": "DE"}}, "location.postcode"),
        ({"sku": SHEET_SKU, "location": {"postcode": "00000", "country": "DE"}}, "location.postcode"),
        ({"sku": SHEET_SKU, "location": {"postcode": "68766;--", "country": "DE"}}, "location.postcode"),
        ({"sku": SHEET_SKU, "radius_km": 10}, "radius_km"),
        ({"sku": SHEET_SKU, "location": {"postcode": "68766", "country": "DE"}, "radius_km": -1}, "radius_km"),
        ({"sku": SHEET_SKU, "max_stores": 201}, "max_stores"),
        ({"sku": SHEET_SKU, "max_stores": -1}, "max_stores"),
    ],
)
def test_validation_errors_name_the_field(db: Database, fields: dict[str, Any], field: str) -> None:
    """A malformed request raises InvalidArgument whose message starts with the field's name."""
    with pytest.raises(InvalidArgument) as err:
        get(db, **fields)
    assert err.value.message.startswith(field + " ")


def test_batch_unknown_invalid_and_duplicates(db: Database) -> None:
    """A batch answers each distinct SKU once in request order; unknown ones get 5, malformed ones 3."""
    req = stock_pb2.BatchGetStoreStockRequest(
        skus=[SHEET_SKU, "NOPE-1", SHEET_SKU, "bad\x00sku", "620114-M-SW"], location=HOCKENHEIM_PLZ, max_stores=3
    )
    resp = queries(db).batch_get_store_stock(req, context())
    assert [(e.sku, e.code) for e in resp.entries] == [
        (SHEET_SKU, 0),
        ("NOPE-1", 5),
        ("bad\x00sku", 3),
        ("620114-M-SW", 0),
    ]
    assert "unknown sku" in resp.entries[1].message
    assert resp.entries[2].message.startswith("skus[3] ")
    first = resp.entries[0].stock
    assert first.stores[0].store.store_id == "F01" and first.stores[0].quantity_available == 1
    assert len(resp.entries[3].stock.stores) == 3
    assert resp.entries[3].stock.article.name == "STEEDS Steppjacke Nora"


def test_batch_equals_single(db: Database) -> None:
    """A batch entry carries the same answer as the single call for that SKU."""
    q = queries(db)
    single = q.get_store_stock(stock_pb2.GetStoreStockRequest(sku=SHEET_SKU, location=STUTTGART), context())
    batch = q.batch_get_store_stock(
        stock_pb2.BatchGetStoreStockRequest(skus=[SHEET_SKU], location=STUTTGART), context()
    )
    assert batch.entries[0].stock == single


@pytest.mark.parametrize("count", [0, 101])
def test_batch_size_is_limited(db: Database, count: int) -> None:
    """A batch of no SKUs or more than 100 raises InvalidArgument naming skus."""
    req = stock_pb2.BatchGetStoreStockRequest(skus=[f"X-{i}" for i in range(count)])
    with pytest.raises(InvalidArgument, match=r"^skus "):
        queries(db).batch_get_store_stock(req, context())


def test_batch_of_100_runs_a_fixed_number_of_queries(db: Database) -> None:
    """100 SKUs cost the same five queries as one, each bounded by the call's remaining time."""
    from onlineconnect.agent.erp.demo.stock_seed import variant_skus

    skus = [v[0] for v in variant_skus()]
    skus += [f"UNKNOWN-{i}" for i in range(100 - len(skus))]
    counting = CountingDatabase(db)
    resp = queries(counting).batch_get_store_stock(
        stock_pb2.BatchGetStoreStockRequest(skus=skus, location=HOCKENHEIM_PLZ), context(30)
    )
    assert len(resp.entries) == 100
    assert sum(e.code == 0 for e in resp.entries) == len(variant_skus())
    names = [n for n, _ in counting.calls]
    assert sorted(names) == sorted(
        ["stock_variants", "stock_levels", "stock_stores", "stock_opening_hours", "stock_closing_days"]
    )
    assert all(t is not None and 0 < t <= 30 for _, t in counting.calls)
    counting.calls.clear()
    queries(counting).get_store_stock(stock_pb2.GetStoreStockRequest(sku=SHEET_SKU), context())
    assert len(counting.calls) == 5


def test_all_unknown_batch_reads_only_variants(db: Database) -> None:
    """When no requested SKU exists, only the variant query runs."""
    counting = CountingDatabase(db)
    req = stock_pb2.BatchGetStoreStockRequest(skus=["NOPE-1", "NOPE-2"])
    resp = queries(counting).batch_get_store_stock(req, context())
    assert [e.code for e in resp.entries] == [5, 5]
    assert [n for n, _ in counting.calls] == ["stock_variants"]


def test_passed_deadline_is_deadline_exceeded(db: Database) -> None:
    """A call whose deadline has already passed raises DeadlineExceeded before touching the ERP."""
    with pytest.raises(DeadlineExceeded):
        queries(db).get_store_stock(stock_pb2.GetStoreStockRequest(sku=SHEET_SKU), context(-1))


def test_merchant_postcode_file_is_used(db: Database, tmp_path: Path) -> None:
    """A merchant's postcode CSV from stock.postcode_file resolves postcodes the demo table lacks."""
    csv = tmp_path / "plz.csv"
    csv.write_text("country,postcode,latitude,longitude,place\nDE,89999,48.40,9.98,Ulm Süd\n", encoding="utf-8")
    settings = StockSettings.from_table({"postcode_file": "plz.csv"}, str(tmp_path / "agent.toml"))
    resp = get(db, settings, sku=SHEET_SKU, location=stock_pb2.Location(postcode="89999", country="de"))
    assert resp.stores[0].store.city == "Ulm"
    with pytest.raises(InvalidArgument, match=r"^location\.postcode"):
        get(db, settings, sku=SHEET_SKU, location=HOCKENHEIM_PLZ)


def test_default_mapping_validates(db: Database) -> None:
    """The shipped stock mapping prepares against the demo schema and returns every column the code reads."""
    problems = [p for p in validate(db) if "[stock_" in p]
    assert problems == []

"""OrderSettings.from_table: defaults, overrides, and errors that name file, key and expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from onlineconnect.agent.orders import DEFAULT_CARRIERS, OrderSettings, Visibility
from onlineconnect.agent.orders.values import money
from onlineconnect.errors import ConfigError

SOURCE = "/etc/onlineconnect/agent.toml"


def test_defaults() -> None:
    """Only archive_root is required; everything but internal status is shown, pages of 20 up to 100."""
    s = OrderSettings.from_table({"archive_root": "/srv/archiv"}, SOURCE)
    assert s.archive_root == Path("/srv/archiv") and s.default_language == "de"
    assert (s.page_size, s.max_page_size) == (20, 100)
    assert s.visibility == Visibility()
    assert s.visibility.show_prices and not s.visibility.show_internal_status
    assert set(s.carriers) == {"DHL", "DHL_EXPRESS", "DPD", "GLS", "HERMES", "UPS", "FEDEX", "POST_AT", "SWISS_POST"}


def test_relative_archive_root_is_relative_to_config_file() -> None:
    """A relative archive_root resolves against the config file's folder."""
    s = OrderSettings.from_table({"archive_root": "archiv"}, SOURCE)
    assert s.archive_root == Path("/etc/onlineconnect/archiv")


def test_carriers_override_and_add() -> None:
    """The merchant overrides a default template, adds a carrier and disables another with ""."""
    table = {
        "archive_root": "/a",
        "carriers": {"DHL": "https://dhl.example/?p={id}", "spedition_x": "https://x.example/{id}", "UPS": ""},
    }
    s = OrderSettings.from_table(table, SOURCE)
    assert s.tracking_url("DHL", "1 2/3") == "https://dhl.example/?p=1%202%2F3"
    assert s.tracking_url("Spedition X", "A&B") == "https://x.example/A%26B"
    assert s.tracking_url("UPS", "1Z") == ""
    assert s.tracking_url("UNKNOWN", "1") == ""
    assert s.carriers["DPD"] == DEFAULT_CARRIERS["DPD"]


def test_tracking_url_encodes_parcel_number() -> None:
    """Parcel numbers go into the URL encoded, so they cannot add query parameters."""
    s = OrderSettings(archive_root=Path("/a"))
    assert (
        s.tracking_url("dpd", "0150&x=1#") == "https://tracking.dpd.de/parcelstatus?query=0150%26x%3D1%23&locale=de_DE"
    )


def test_visibility_flags() -> None:
    """Visibility flags are read from orders.visibility."""
    table = {"archive_root": "/a", "visibility": {"show_prices": False, "show_internal_status": True}}
    vis = OrderSettings.from_table(table, SOURCE).visibility
    assert not vis.show_prices and vis.show_internal_status and vis.show_invoices


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({}, "orders.archive_root"),
        ({"archive_root": 5}, "orders.archive_root"),
        ({"archive_root": "/a", "visibility": {"show_prices": "yes"}}, "orders.visibility.show_prices"),
        ({"archive_root": "/a", "visibility": {"show_everything": True}}, "orders.visibility.show_everything"),
        ({"archive_root": "/a", "visibility": []}, "orders.visibility"),
        ({"archive_root": "/a", "default_language": "fr"}, "orders.default_language"),
        ({"archive_root": "/a", "page_size": 0}, "orders.page_size"),
        ({"archive_root": "/a", "page_size": True}, "orders.page_size"),
        ({"archive_root": "/a", "page_size": 50, "max_page_size": 30}, "orders.page_size"),
        ({"archive_root": "/a", "carriers": {"DHL": "ftp://x/{id}"}}, "orders.carriers.DHL"),
        ({"archive_root": "/a", "carriers": {"DHL": "https://x/"}}, "orders.carriers.DHL"),
        ({"archive_root": "/a", "carriers": {"DHL": 3}}, "orders.carriers.DHL"),
        ({"archive_root": "/a", "carriers": {"bad/code": "https://x/{id}"}}, "orders.carriers.bad/code"),
        ({"archive_root": "/a", "colour": "red"}, "orders.colour"),
    ],
)
def test_bad_values_name_file_and_key(table: dict[str, Any], key: str) -> None:
    """Each bad value raises ConfigError naming the file and the full key."""
    with pytest.raises(ConfigError) as err:
        OrderSettings.from_table(table, SOURCE)
    assert SOURCE in err.value.message and key in err.value.message


def test_money_is_exact() -> None:
    """Money carries minor units and a dot decimal, also for negative and zero-decimal amounts."""
    m = money(11445)
    assert (m.amount_minor, m.currency, m.decimal) == (11445, "EUR", "114.45")
    assert money(-2495).decimal == "-24.95" and money(5).decimal == "0.05" and money(0).decimal == "0.00"
    assert money(1200, "jpy").decimal == "1200"


def test_package_exports_are_complete() -> None:
    """Every name in the package's __all__ is importable from it."""
    import onlineconnect.agent.orders as orders

    assert all(hasattr(orders, name) for name in orders.__all__)

"""Tests of the [stock] settings and the availability rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from onlineconnect.agent.stock import StockSettings, classify
from onlineconnect.errors import ConfigError
from onlineconnect.v1 import stock_pb2


def test_defaults_from_empty_table() -> None:
    """An empty [stock] table gives the documented defaults."""
    s = StockSettings.from_table({}, "agent.toml")
    assert (s.low_stock_threshold, s.show_quantity_max, s.max_stores, s.default_country) == (3, 10, 200, "DE")
    assert s.postcode_file is None


def test_values_are_read_and_postcode_file_is_relative_to_the_config(tmp_path: Path) -> None:
    """Given values are taken over and a relative postcode_file resolves against the config file's folder."""
    source = str(tmp_path / "agent.toml")
    s = StockSettings.from_table(
        {"low_stock_threshold": 5, "show_quantity_max": 0, "postcode_file": "plz.csv", "default_country": "at"}, source
    )
    assert s.low_stock_threshold == 5 and s.show_quantity_max == 0
    assert s.postcode_file == tmp_path / "plz.csv"
    assert s.default_country == "AT"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"low_stock_threshold": -1}, "stock.low_stock_threshold"),
        ({"low_stock_threshold": "3"}, "stock.low_stock_threshold"),
        ({"show_quantity_max": True}, "stock.show_quantity_max"),
        ({"max_stores": 201}, "stock.max_stores"),
        ({"max_stores": 0}, "stock.max_stores"),
        ({"default_country": "DEU"}, "stock.default_country"),
        ({"postcode_file": ""}, "stock.postcode_file"),
        ({"closing_days_ahead": -5}, "stock.closing_days_ahead"),
        ({"low_stock": 3}, "stock.low_stock"),
    ],
)
def test_bad_values_name_file_and_key(table: dict[str, object], key: str) -> None:
    """A bad or unknown key raises ConfigError naming the config file and the dotted key."""
    with pytest.raises(ConfigError) as err:
        StockSettings.from_table(table, "/etc/onlineconnect/agent.toml")
    assert "/etc/onlineconnect/agent.toml" in err.value.message
    assert key in err.value.message


@pytest.mark.parametrize(
    ("on_hand", "reserved", "display", "quantity", "level", "shown"),
    [
        (2, 1, False, 1, stock_pb2.AVAILABILITY_LOW_STOCK, True),
        (3, 0, False, 3, stock_pb2.AVAILABILITY_LOW_STOCK, True),
        (4, 0, False, 4, stock_pb2.AVAILABILITY_IN_STOCK, True),
        (10, 0, False, 10, stock_pb2.AVAILABILITY_IN_STOCK, True),
        (11, 0, False, 0, stock_pb2.AVAILABILITY_IN_STOCK, False),
        (0, 0, False, 0, stock_pb2.AVAILABILITY_OUT_OF_STOCK, False),
        (1, 3, False, 0, stock_pb2.AVAILABILITY_OUT_OF_STOCK, False),
        (1, 0, True, 0, stock_pb2.AVAILABILITY_DISPLAY_ONLY, False),
        (0, 0, True, 0, stock_pb2.AVAILABILITY_OUT_OF_STOCK, False),
    ],
)
def test_default_levels(on_hand: int, reserved: int, display: bool, quantity: int, level: int, shown: bool) -> None:
    """With the defaults, 1..3 is low, above is in stock, the number shows up to 10, display pieces are not for sale."""
    got = classify(on_hand, reserved, display, StockSettings())
    assert (got.quantity_available, got.availability, got.show_quantity) == (quantity, level, shown)


def test_custom_thresholds() -> None:
    """A tenant's own thresholds move the low-stock and show-quantity boundaries."""
    s = StockSettings(low_stock_threshold=1, show_quantity_max=2)
    assert classify(2, 0, False, s).availability == stock_pb2.AVAILABILITY_IN_STOCK
    assert classify(1, 0, False, s).availability == stock_pb2.AVAILABILITY_LOW_STOCK
    assert classify(3, 0, False, s).show_quantity is False
    assert classify(2, 0, False, s).quantity_available == 2


def test_package_exports_are_complete() -> None:
    """Every public name of the stock modules is exported from the package, and __all__ names only real objects."""
    import onlineconnect.agent.stock as stock

    for name in stock.__all__:
        assert hasattr(stock, name), name
    for module in (stock.settings, stock.postcodes, stock.availability, stock.queries):
        for name, obj in vars(module).items():
            defined_here = isinstance(obj, type) and obj.__module__ == module.__name__
            if defined_here and not name.startswith("_"):
                assert name in stock.__all__, f"{module.__name__}.{name}"

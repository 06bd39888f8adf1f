"""Tests of the offline postcode table and the distance formula."""

from __future__ import annotations

from pathlib import Path

import pytest

from onlineconnect.agent.stock import PostcodeTable, StockSettings, haversine_km
from onlineconnect.errors import ConfigError


def test_demo_table_knows_the_demo_area() -> None:
    """The shipped table resolves Hockenheim and the big cities, and normalizes spacing and case."""
    table = PostcodeTable.load(None)
    hockenheim = table.lookup("DE", "68766")
    assert hockenheim is not None and hockenheim.name == "Hockenheim"
    assert abs(hockenheim.latitude - 49.32) < 0.05 and abs(hockenheim.longitude - 8.55) < 0.05
    for code in ("68161", "69117", "76133", "70173", "79098", "89073", "80331", "60311", "50667", "10115", "20095"):
        assert table.lookup("de", f" {code} ") is not None, code
    assert table.lookup("DE", "99999") is None
    assert len(table) >= 60


def test_merchant_file_is_loaded(tmp_path: Path) -> None:
    """A merchant CSV with a BOM, comments, an empty country and a duplicate loads; the first duplicate wins."""
    path = tmp_path / "plz.csv"
    path.write_text(
        "\ufeff# our stores' area\ncountry,postcode,latitude,longitude,place\n"
        "AT,1010,48.2085,16.3721,Wien\n,68766,49.30,8.50,Hockenheim\nDE,68766,1,1,Later\n"
        "NL,1012 AB,52.37,4.89,Amsterdam\n",
        encoding="utf-8",
    )
    table = PostcodeTable.load(path, default_country="DE")
    assert table.lookup("AT", "1010") is not None
    place = table.lookup("DE", "68766")
    assert place is not None and place.latitude == 49.30
    assert table.lookup("NL", "1012ab") is not None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "empty postcode file"),
        ("plz,lat,lon\n", "header must be"),
        ("country,postcode,latitude,longitude,place\nDE,68766,north,8.5,X\n", "line 2"),
        ("country,postcode,latitude,longitude,place\nDE,68766,99,8.5,X\n", "out of range"),
        ("country,postcode,latitude,longitude,place\nGermany,68766,49,8.5,X\n", "alpha-2"),
        ("country,postcode,latitude,longitude,place\nDE,68766\n", "expected 5 columns"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_path: Path, text: str, needle: str) -> None:
    """A malformed postcode file raises ConfigError naming the file and what is wrong."""
    path = tmp_path / "plz.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        PostcodeTable.load(path)
    assert str(path) in err.value.message and needle in err.value.message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """A configured postcode file that does not exist raises ConfigError naming the setting."""
    settings = StockSettings(postcode_file=tmp_path / "nope.csv")
    with pytest.raises(ConfigError, match=r"stock\.postcode_file"):
        PostcodeTable.load(settings.postcode_file)


def test_haversine_known_distances() -> None:
    """Great-circle distances match known values: Mannheim-Heidelberg ~18 km, Berlin-München ~504 km."""
    assert haversine_km(49.4875, 8.4660, 49.4110, 8.6950) == pytest.approx(18.4, abs=1.0)
    assert haversine_km(52.5200, 13.4050, 48.1372, 11.5756) == pytest.approx(504, abs=5)
    assert haversine_km(10, 10, 10, 10) == 0

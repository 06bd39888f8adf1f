"""Offline postcode table and great-circle distances.

A shop may send the customer's postcode instead of coordinates. The agent turns it into coordinates from a CSV
table on its own disk, never by asking an online service: the customer's postcode must not leave the merchant's
systems, and the answer must not depend on a third party being up.

CSV format (UTF-8, header row required, ``#`` lines are comments)::

    country,postcode,latitude,longitude,place
    DE,68766,49.3220,8.5480,Hockenheim

An empty ``country`` means the settings' ``default_country``. When a postcode occurs twice for a country, the
first row wins (GeoNames exports list one row per place of a postcode; the first is the main place).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from onlineconnect.errors import ConfigError

EARTH_RADIUS_KM = 6371.0088  # mean Earth radius (IUGG), good to ~0.5 % for distances between stores
COLUMNS = ("country", "postcode", "latitude", "longitude", "place")
DEMO_TABLE = "postcodes_de.csv"

_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class Place:
    """A postcode's centroid."""

    latitude: float
    longitude: float
    name: str


def normalize_postcode(postcode: str) -> str:
    """Returns the lookup form of a postcode: upper case without spaces ("1012 ab" -> "1012AB")."""
    return "".join(postcode.split()).upper()


class PostcodeTable:
    """Postcode -> coordinates for one or more countries, held in memory (a country has ~10k-40k codes)."""

    def __init__(self, places: dict[tuple[str, str], Place], source: str) -> None:
        self._places = places
        self.source = source

    def __len__(self) -> int:
        return len(self._places)

    def lookup(self, country: str, postcode: str) -> Place | None:
        """Returns the place of ``postcode`` in ``country`` (ISO alpha-2), or None if the table lacks it."""
        return self._places.get((country.upper(), normalize_postcode(postcode)))

    @classmethod
    def parse(cls, text: str, source: str, *, default_country: str = "DE") -> PostcodeTable:
        """Parses CSV text in the format of this module's docstring.

        Args:
            text: The file's content.
            source: File name for error messages.
            default_country: Country for rows whose country column is empty.

        Raises:
            ConfigError: the header is wrong or a row is malformed; the message names file and line.
        """
        reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
        header: list[str] | None = None
        places: dict[tuple[str, str], Place] = {}
        for row in reader:
            line = reader.line_num
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if header is None:
                header = [c.strip().lower() for c in row]
                if tuple(header[: len(COLUMNS)]) != COLUMNS:
                    raise ConfigError(f"{source}: line {line}: header must be {','.join(COLUMNS)}, got {','.join(row)}")
                continue
            if len(row) < len(COLUMNS):
                raise ConfigError(f"{source}: line {line}: expected {len(COLUMNS)} columns, got {len(row)}")
            country = row[0].strip().upper() or default_country
            postcode = normalize_postcode(row[1])
            if not _COUNTRY.match(country):
                raise ConfigError(f"{source}: line {line}: country must be ISO 3166-1 alpha-2 like DE, got {row[0]!r}")
            if not postcode:
                raise ConfigError(f"{source}: line {line}: postcode is empty")
            try:
                lat, lon = float(row[2]), float(row[3])
            except ValueError:
                raise ConfigError(f"{source}: line {line}: latitude/longitude must be decimal degrees") from None
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ConfigError(f"{source}: line {line}: coordinates out of range ({lat}, {lon})")
            places.setdefault((country, postcode), Place(lat, lon, row[4].strip()))
        if header is None:
            raise ConfigError(f"{source}: empty postcode file; expected header {','.join(COLUMNS)}")
        return cls(places, source)

    @classmethod
    def load(cls, path: Path | None, *, default_country: str = "DE") -> PostcodeTable:
        """Loads a merchant's CSV file, or the shipped demo table when ``path`` is None.

        Raises:
            ConfigError: the file cannot be read or is malformed.
        """
        if path is None:
            ref = resources.files("onlineconnect.agent.stock") / "data" / DEMO_TABLE
            return cls.parse(
                ref.read_text(encoding="utf-8"), f"<default>/{DEMO_TABLE}", default_country=default_country
            )
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read stock.postcode_file: {exc.strerror}") from exc
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: stock.postcode_file must be UTF-8 text") from None
        return cls.parse(text, str(path), default_country=default_country)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS 84 points (spherical Earth; error below 0.5 %)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    # min() guards asin against rounding just above 1 for antipodal points.
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))

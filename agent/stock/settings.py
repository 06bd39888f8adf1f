"""Per-tenant stock settings: the ``[stock]`` table of the agent's TOML config.

Example::

    [stock]
    low_stock_threshold = 3          # 1..3 pieces available -> LOW_STOCK
    show_quantity_max = 10           # exact quantity shown for 1..10 pieces, above that only the level
    postcode_file = "plz.csv"        # relative to the config file; default: the shipped demo table
    max_stores = 200                 # most stores one answer lists (1..200)
    default_country = "DE"           # country of stores and postcode rows that leave it empty
    closing_days_ahead = 90          # how far ahead exceptional closing days are listed
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onlineconnect.errors import ConfigError

#: The protocol's cap on stores per answer (``max_stores`` in stock.proto).
MAX_STORES_LIMIT = 200

_COUNTRY = re.compile(r"^[A-Z]{2}$")


@dataclass(frozen=True)
class StockSettings:
    """How stock figures turn into what a shop may show.

    Attributes:
        low_stock_threshold: Available quantities from 1 up to this are LOW_STOCK, above it IN_STOCK
            (0 disables the LOW_STOCK level).
        show_quantity_max: The exact quantity is shown only for 1 up to this many available pieces; above it the
            answer carries ``show_quantity = false`` and ``quantity_available = 0`` so a competitor cannot read
            the merchant's stock depth (0: never show exact numbers).
        postcode_file: A merchant's postcode CSV, or None for the shipped demo table.
        max_stores: Most stores one answer lists, also when the request asks for all (1..200).
        default_country: ISO 3166-1 alpha-2 country for stores and postcode rows that leave the country empty.
        closing_days_ahead: Exceptional closing days are listed from today up to this many days ahead.
    """

    low_stock_threshold: int = 3
    show_quantity_max: int = 10
    postcode_file: Path | None = None
    max_stores: int = MAX_STORES_LIMIT
    default_country: str = "DE"
    closing_days_ahead: int = 90

    def __post_init__(self) -> None:
        # Direct construction (tests, embedding) gets the same checks as the config file.
        _check(self, "<StockSettings>")

    @classmethod
    def from_table(cls, table: dict[str, Any], source: str) -> StockSettings:
        """Builds settings from the ``[stock]`` table of a config file.

        Args:
            table: The parsed ``[stock]`` table (may be empty: all defaults).
            source: The config file's path, for error messages and to resolve a relative ``postcode_file``.

        Raises:
            ConfigError: a key is unknown or a value has the wrong type or range; the message names the file,
                the key and what is expected.
        """
        known = {
            "low_stock_threshold",
            "show_quantity_max",
            "postcode_file",
            "max_stores",
            "default_country",
            "closing_days_ahead",
        }
        unknown = sorted(set(table) - known)
        if unknown:
            raise ConfigError(f"{source}: unknown keys {['stock.' + k for k in unknown]}; known: {sorted(known)}")
        kwargs: dict[str, Any] = {}
        for key in ("low_stock_threshold", "show_quantity_max", "max_stores", "closing_days_ahead"):
            if key in table:
                value = table[key]
                # bool is an int subclass; "true" for a threshold is a typo, not 1.
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ConfigError(f"{source}: stock.{key} must be an integer, got {value!r}")
                kwargs[key] = value
        if "default_country" in table:
            value = table["default_country"]
            if not isinstance(value, str):
                raise ConfigError(f'{source}: stock.default_country must be a string like "DE", got {value!r}')
            kwargs["default_country"] = value.strip().upper()
        if "postcode_file" in table:
            value = table["postcode_file"]
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{source}: stock.postcode_file must be a non-empty path string, got {value!r}")
            path = Path(value).expanduser()
            if not path.is_absolute() and not source.startswith("<"):
                # Relative to the config file, so the agent finds it whatever its working directory.
                path = Path(source).parent / path
            kwargs["postcode_file"] = path
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(exc.message.replace("<StockSettings>", source, 1)) from None


def _check(s: StockSettings, source: str) -> None:
    if not 0 <= s.low_stock_threshold <= 1_000_000:
        raise ConfigError(f"{source}: stock.low_stock_threshold must be 0..1000000, got {s.low_stock_threshold}")
    if not 0 <= s.show_quantity_max <= 1_000_000:
        raise ConfigError(f"{source}: stock.show_quantity_max must be 0..1000000, got {s.show_quantity_max}")
    if not 1 <= s.max_stores <= MAX_STORES_LIMIT:
        raise ConfigError(f"{source}: stock.max_stores must be 1..{MAX_STORES_LIMIT}, got {s.max_stores}")
    if not 0 <= s.closing_days_ahead <= 3660:
        raise ConfigError(f"{source}: stock.closing_days_ahead must be 0..3660 days, got {s.closing_days_ahead}")
    if not _COUNTRY.match(s.default_country):
        raise ConfigError(
            f'{source}: stock.default_country must be an ISO 3166-1 alpha-2 code like "DE", got {s.default_country!r}'
        )

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
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

from onlineconnect.config import ConfigModel, ConfigPath, validate

#: The protocol's cap on stores per answer (``max_stores`` in stock.proto).
MAX_STORES_LIMIT = 200

_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _normalize_country(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


def _country(value: str) -> str:
    if not _COUNTRY.match(value):
        raise ValueError(f'expected an ISO 3166-1 alpha-2 code like "DE", got {value!r}')
    return value


Country = Annotated[str, BeforeValidator(_normalize_country), AfterValidator(_country)]


class StockSettings(ConfigModel):
    """How stock figures turn into what a shop may show; validated on construction like the config file.

    Attributes:
        low_stock_threshold: Available quantities from 1 up to this are LOW_STOCK, above it IN_STOCK
            (0 disables the LOW_STOCK level).
        show_quantity_max: The exact quantity is shown only for 1 up to this many available pieces; above it the
            answer carries ``show_quantity = false`` and ``quantity_available = 0`` so a competitor cannot read
            the merchant's stock depth (0: never show exact numbers).
        postcode_file: A merchant's postcode CSV, or None for the shipped demo table; relative to the config file.
        max_stores: Most stores one answer lists, also when the request asks for all (1..200).
        default_country: ISO 3166-1 alpha-2 country for stores and postcode rows that leave the country empty.
        closing_days_ahead: Exceptional closing days are listed from today up to this many days ahead.
    """

    low_stock_threshold: int = Field(default=3, ge=0, le=1_000_000)
    show_quantity_max: int = Field(default=10, ge=0, le=1_000_000)
    postcode_file: ConfigPath | None = None
    max_stores: int = Field(default=MAX_STORES_LIMIT, ge=1, le=MAX_STORES_LIMIT)
    default_country: Country = "DE"
    closing_days_ahead: int = Field(default=90, ge=0, le=3660)

    @classmethod
    def from_table(cls, table: Mapping[str, object], source: str) -> StockSettings:
        """Builds settings from the ``[stock]`` table of a config file.

        Args:
            table: The parsed ``[stock]`` table (may be empty: all defaults).
            source: The config file's path, for error messages and to resolve a relative ``postcode_file``.

        Raises:
            ConfigError: a key is unknown or a value has the wrong type or range; the message names the file,
                the key and what is expected.
        """
        return validate(cls, table, source=source, prefix=("stock",))

"""Stock inquiry (Bestandsauskunft): which branch stores hold an article variant, how many, nearest first.

Importing this package registers the ``stock_*`` queries with the mapping loader.
"""

from __future__ import annotations

from .availability import Level, classify
from .postcodes import Place, PostcodeTable, haversine_km, normalize_postcode
from .queries import StockQueries
from .request import MAX_BATCH, MAX_SKU_LENGTH, Origin, StoreFilter
from .settings import MAX_STORES_LIMIT, StockSettings

__all__ = [
    "MAX_BATCH",
    "MAX_SKU_LENGTH",
    "MAX_STORES_LIMIT",
    "Level",
    "Origin",
    "Place",
    "PostcodeTable",
    "StockQueries",
    "StockSettings",
    "StoreFilter",
    "classify",
    "haversine_km",
    "normalize_postcode",
]

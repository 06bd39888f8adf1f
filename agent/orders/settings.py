"""The ``[orders]`` table of the agent's configuration: invoice archive, labels, carriers, visibility, paging.

Example::

    [orders]
    archive_root = "/srv/vs4/archiv/rechnungen"   # relative paths are relative to the config file
    default_language = "de"
    page_size = 20
    max_page_size = 100

    [orders.visibility]          # what the shop's customers may see; merchant-defined
    show_prices = true
    show_invoices = true
    show_shipments = true
    show_returns = true
    show_status_history = true
    show_internal_status = false # false: ON_HOLD reads "In Bearbeitung"

    [orders.guest]               # the guest order lookup (order number + postcode, no shop account)
    enabled = true
    show_prices = false          # amounts in the summary and on the lines
    show_lines = true            # articles with their delivery state
    show_shipments = true        # parcels with tracking links
    show_status_history = true
    show_expected_dates = true   # expected delivery dates of open lines
    require_last_name = false    # true: the last name must be given too (far harder to guess)

    [orders.carriers]            # tracking page per carrier code, {id} is the parcel number; "" disables a link
    DHL = "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?lang=de&idc={id}"
    SPEDITION_MUELLER = "https://tracking.example.com/?p={id}"
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar
from urllib.parse import quote

from onlineconnect.errors import ConfigError

from .labels import LANGUAGES

# Carriers change their tracking pages, so these are only defaults (DOMAIN.md); the merchant overrides or adds.
DEFAULT_CARRIERS: Mapping[str, str] = MappingProxyType(
    {
        "DHL": "https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html?lang=de&idc={id}",
        "DHL_EXPRESS": "https://www.dhl.com/de-de/home/tracking/tracking-express.html?submit=1&tracking-id={id}",
        "DPD": "https://tracking.dpd.de/parcelstatus?query={id}&locale=de_DE",
        "GLS": "https://gls-group.eu/DE/de/paketverfolgung?match={id}",
        "HERMES": "https://www.myhermes.de/empfangen/sendungsverfolgung/sendungsinformation/#{id}",
        "UPS": "https://wwwapps.ups.com/tracking/tracking.cgi?tracknum={id}&loc=de_DE",
        "FEDEX": "https://www.fedex.com/apps/fedextrack/?action=track&trackingnumber={id}",
        "POST_AT": "https://www.post.at/sv/sendungsdetails?snr={id}",
        "SWISS_POST": "https://www.post.ch/swisspost-tracking?formattedParcelCodes={id}",
    }
)

_F = TypeVar("_F", "Visibility", "GuestView")
_CARRIER_CODE = re.compile(r"^[A-Z0-9_]{1,32}$")
_KEYS = {"archive_root", "default_language", "page_size", "max_page_size", "visibility", "carriers", "guest"}


def carrier_code(raw: str | None) -> str:
    """Normalizes an ERP carrier name to a code: "dhl express" → "DHL_EXPRESS"."""
    return re.sub(r"[\s\-]+", "_", (raw or "").strip()).upper()


@dataclass(frozen=True)
class Visibility:
    """Which details of an order the merchant lets customers see.

    Attributes:
        show_prices: Money fields (totals, unit prices, document amounts, reorder prices).
        show_invoices: Invoices and credit notes, and their PDFs.
        show_shipments: Parcels, parcel numbers and tracking links.
        show_returns: Returns and exchanges.
        show_status_history: The status event history.
        show_internal_status: ON_HOLD and internal events; when False ON_HOLD reads IN_PROCESSING.
    """

    show_prices: bool = True
    show_invoices: bool = True
    show_shipments: bool = True
    show_returns: bool = True
    show_status_history: bool = True
    show_internal_status: bool = False


@dataclass(frozen=True)
class GuestView:
    """What the guest order lookup shows of the one order it found; never more than :class:`Visibility` allows.

    Invoices, returns, reorder data, names and addresses are never part of the guest view: whoever knows an order
    number and a postcode is not necessarily the customer, and those details would tell a stranger too much.

    Attributes:
        enabled: False answers every guest lookup with FAILED_PRECONDITION (the merchant does not offer it).
        show_prices: Order total, line prices and totals.
        show_lines: The order lines with their delivery state.
        show_shipments: Parcels, parcel numbers and tracking links.
        show_status_history: The status event history.
        show_expected_dates: Expected delivery dates of lines not yet delivered.
        require_last_name: Refuse lookups without ``last_name`` (INVALID_ARGUMENT): postcode and last name together
            are far harder to guess than a postcode alone.
    """

    enabled: bool = True
    show_prices: bool = False
    show_lines: bool = True
    show_shipments: bool = True
    show_status_history: bool = True
    show_expected_dates: bool = True
    require_last_name: bool = False


@dataclass(frozen=True)
class OrderSettings:
    """Settings of the order inquiry, validated on construction from the ``[orders]`` table.

    Attributes:
        archive_root: Folder of the ERP's archived invoice PDFs; document paths are relative to it.
        default_language: "de" or "en", for requests that leave the language unspecified.
        carriers: Tracking URL template by carrier code, ``{id}`` marks the parcel number.
        visibility: What customers may see.
        guest: What the guest order lookup shows (within ``visibility``).
        page_size: ListOrders page size when the request says 0.
        max_page_size: Largest page size a request may ask for.
    """

    archive_root: Path
    default_language: str = "de"
    carriers: Mapping[str, str] = field(default_factory=lambda: DEFAULT_CARRIERS)
    visibility: Visibility = field(default_factory=Visibility)
    guest: GuestView = field(default_factory=GuestView)
    page_size: int = 20
    max_page_size: int = 100

    def tracking_url(self, carrier: str, parcel_number: str) -> str:
        """Returns the carrier's tracking link for ``parcel_number`` (URL-encoded), or "" without a template.

        Args:
            carrier: Carrier code or ERP carrier name.
            parcel_number: The parcel number as the ERP stores it.
        """
        template = self.carriers.get(carrier_code(carrier), "")
        if not template or not parcel_number:
            return ""
        # str.replace, not str.format: templates may hold other braces, and the id is encoded whole.
        return template.replace("{id}", quote(parcel_number, safe=""))

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: str) -> OrderSettings:
        """Builds settings from the ``[orders]`` table of the config file ``source``.

        Args:
            table: The parsed ``[orders]`` table.
            source: Path of the config file, for error messages and for resolving a relative ``archive_root``.

        Raises:
            ConfigError: a key is unknown or a value has the wrong type or range; the message names file and key.
        """
        if not isinstance(table, Mapping):
            raise ConfigError(f"{source}: orders must be a table")
        unknown = sorted(set(table) - _KEYS)
        if unknown:
            raise ConfigError(f"{source}: orders.{unknown[0]} is not a known key; expected one of {sorted(_KEYS)}")

        root_raw = table.get("archive_root")
        if not isinstance(root_raw, str) or not root_raw.strip():
            raise ConfigError(f"{source}: orders.archive_root must be the path of the invoice PDF archive (a string)")
        root = Path(root_raw).expanduser()
        if not root.is_absolute():
            root = Path(source).parent / root

        lang = table.get("default_language", "de")
        if lang not in LANGUAGES:
            raise ConfigError(f"{source}: orders.default_language must be one of {list(LANGUAGES)}, not {lang!r}")

        page_size = _int(table, "page_size", 20, source, 1, 1000)
        max_page_size = _int(table, "max_page_size", 100, source, 1, 1000)
        if page_size > max_page_size:
            raise ConfigError(f"{source}: orders.page_size ({page_size}) must not exceed orders.max_page_size")

        return cls(
            archive_root=root,
            default_language=lang,
            carriers=MappingProxyType(_carriers(table.get("carriers", {}), source)),
            visibility=_visibility(table.get("visibility", {}), source),
            guest=_flags(GuestView, table.get("guest", {}), source, "guest"),
            page_size=page_size,
            max_page_size=max_page_size,
        )


def _int(table: Mapping[str, Any], key: str, default: int, source: str, low: int, high: int) -> int:
    value = table.get(key, default)
    # bool is an int subclass; "page_size = true" is a typo, not 1.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{source}: orders.{key} must be an integer from {low} to {high}, not {value!r}")
    return value


def _visibility(raw: Any, source: str) -> Visibility:
    return _flags(Visibility, raw, source, "visibility")


def _flags(kind: type[_F], raw: Any, source: str, name: str) -> _F:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: orders.{name} must be a table of true/false flags")
    known = {f.name for f in fields(kind)}
    values: dict[str, bool] = {}
    for key, value in raw.items():
        if key not in known:
            raise ConfigError(f"{source}: orders.{name}.{key} is not a known flag; expected one of {sorted(known)}")
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: orders.{name}.{key} must be true or false, not {value!r}")
        values[key] = value
    return kind(**values)


def _carriers(raw: Any, source: str) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: orders.carriers must be a table of carrier code = tracking URL template")
    out = dict(DEFAULT_CARRIERS)
    for key, template in raw.items():
        code = carrier_code(key)
        if not _CARRIER_CODE.match(code):
            raise ConfigError(f"{source}: orders.carriers.{key} is not a carrier code (letters, digits, '_', max 32)")
        if not isinstance(template, str):
            raise ConfigError(f"{source}: orders.carriers.{key} must be a URL template string with {{id}}")
        if template and (not template.startswith(("https://", "http://")) or "{id}" not in template):
            raise ConfigError(
                f'{source}: orders.carriers.{key} must be an http(s) URL containing {{id}} (or "" for no link), '
                f"not {template!r}"
            )
        out[code] = template
    return out

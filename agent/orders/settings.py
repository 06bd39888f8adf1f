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
from types import MappingProxyType
from typing import Annotated, Self
from urllib.parse import quote

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, model_validator

from onlineconnect.config import ConfigModel, ConfigPath, KeyProblem, validate

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

_CARRIER_CODE = re.compile(r"^[A-Z0-9_]{1,32}$")


def carrier_code(raw: str | None) -> str:
    """Normalizes an ERP carrier name to a code: "dhl express" → "DHL_EXPRESS"."""
    return re.sub(r"[\s\-]+", "_", (raw or "").strip()).upper()


def _carriers(raw: object) -> object:
    """The merchant's ``[orders.carriers]`` on top of :data:`DEFAULT_CARRIERS`, codes normalized."""
    if not isinstance(raw, Mapping) or isinstance(raw, MappingProxyType):
        return raw  # not a table (the type check names it), or a mapping built in code
    out = dict(DEFAULT_CARRIERS)
    for key, template in raw.items():
        code = carrier_code(key)
        if not _CARRIER_CODE.match(code):
            raise KeyProblem(key, "expected a carrier code (letters, digits, '_', max 32)")
        if not isinstance(template, str):
            raise KeyProblem(key, "expected a URL template string with {id}")
        if template and (not template.startswith(("https://", "http://")) or "{id}" not in template):
            raise KeyProblem(key, f'expected an http(s) URL containing {{id}} (or "" for no link), got {template!r}')
        out[code] = template
    return out


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise ValueError(f"expected one of {list(LANGUAGES)}, got {value!r}")
    return value


def _read_only(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(value))


def _plain(value: Mapping[str, str]) -> dict[str, str]:
    return dict(value)


Carriers = Annotated[Mapping[str, str], BeforeValidator(_carriers), AfterValidator(_read_only), PlainSerializer(_plain)]


class Visibility(ConfigModel):
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


class GuestView(ConfigModel):
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


class OrderSettings(ConfigModel):
    """Settings of the order inquiry, validated on construction (the ``[orders]`` table).

    Attributes:
        archive_root: Folder of the ERP's archived invoice PDFs; document paths are relative to it.
        default_language: "de" or "en", for requests that leave the language unspecified.
        carriers: Tracking URL template by carrier code, ``{id}`` marks the parcel number.
        visibility: What customers may see.
        guest: What the guest order lookup shows (within ``visibility``).
        page_size: ListOrders page size when the request says 0.
        max_page_size: Largest page size a request may ask for.
    """

    archive_root: ConfigPath
    default_language: Annotated[str, AfterValidator(_language)] = "de"
    carriers: Carriers = Field(default_factory=lambda: DEFAULT_CARRIERS)
    visibility: Visibility = Visibility()
    guest: GuestView = GuestView()
    page_size: int = Field(default=20, ge=1, le=1000)
    max_page_size: int = Field(default=100, ge=1, le=1000)

    @model_validator(mode="after")
    def _page_sizes(self) -> Self:
        if self.page_size > self.max_page_size:
            raise KeyProblem(
                "page_size", f"expected at most max_page_size ({self.max_page_size}), got {self.page_size}"
            )
        return self

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
    def from_table(cls, table: Mapping[str, object], source: str) -> OrderSettings:
        """Builds settings from the ``[orders]`` table of the config file ``source``.

        Args:
            table: The parsed ``[orders]`` table.
            source: Path of the config file, for error messages and for resolving a relative ``archive_root``.

        Raises:
            ConfigError: a key is unknown or a value has the wrong type or range; the message names file and key.
        """
        return validate(cls, table, source=source, prefix=("orders",))

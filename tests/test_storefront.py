"""The reference storefront over plain HTTP (no browser): pages, errors, cookies, catalogue and texts.

Behind it run the real gateway and agent on the demo ERP (``browser/stack.py``); the browser walk-through is in
``browser/test_storefront_browser.py``.
"""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from browser.stack import ShopStack, running_shop

from onlineconnect.agent.erp.demo.stock_seed import variant_skus
from onlineconnect.storefront import texts
from onlineconnect.storefront.catalogue import PRODUCTS
from onlineconnect.storefront.cookies import COOKIE, CartLine, Session, Signer


@dataclass
class Page:
    """An HTTP answer."""

    status: int
    text: str
    headers: dict[str, str]
    body: bytes


class Buyer:
    """A browser without a browser: keeps cookies, does not follow redirects on its own."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, form: dict[str, str | list[str]] | None = None) -> Page:
        """GET (or POST with ``form``), following redirects."""
        data = urllib.parse.urlencode(form, doseq=True).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=15) as r:
                body = r.read()
                return Page(r.status, body.decode(errors="replace"), dict(r.headers), body)
        except urllib.error.HTTPError as e:
            body = e.read()
            return Page(e.code, body.decode(errors="replace"), dict(e.headers), body)

    def sign_in(self, customer: str = "4711") -> Page:
        return self.get("/signin", {"customer": customer})


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopStack]:
    """Demo ERP, gateway, agent and storefront, shared by the module's tests."""
    with running_shop(tmp_path_factory.mktemp("shop")) as stack:
        yield stack


@pytest.fixture
def buyer(shop: ShopStack) -> Buyer:
    """A fresh visitor, signed in as customer 4711."""
    b = Buyer(shop.url)
    b.sign_in()
    return b


def test_signed_cookie_round_trips_the_session() -> None:
    """A session signed by the storefront loads back unchanged, cart and notes included."""
    signer = Signer()
    session = Session(customer="4711", lang="en", cart=[CartLine("6392", "", "Ochsenziemer XL", 2, 3995)])
    session.notes = ["hello"]
    assert signer.load(signer.dump(session)) == session


def test_edited_or_foreign_cookie_gives_an_empty_session() -> None:
    """A cookie whose payload was edited, or signed with another key, yields nobody signed in."""
    signer = Signer()
    value = signer.dump(Session(customer="4711"))
    forged = Signer().dump(Session(customer="4712"))
    payload, mac = value.rsplit(".", 1)
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + mac
    for bad in (forged, tampered, "garbage", "", None):
        assert signer.load(bad).customer == ""


def test_both_languages_have_every_text() -> None:
    """German and English define exactly the same text keys."""
    assert set(texts.TEXTS["de"]) == set(texts.TEXTS["en"])


def test_money_and_dates_are_written_per_language() -> None:
    """114,45 € and 13.07.2014 in German; €114.45 and 13 Jul 2014 in English."""
    assert texts.money(11445, "EUR", "de") == "114,45 €"
    assert texts.money(123456, "EUR", "de") == "1.234,56 €"
    assert texts.money(11445, "EUR", "en") == "€114.45"
    assert texts.date("2014-07-13", "de") == "13.07.2014"
    assert texts.date("2014-07-13", "en") == "13 Jul 2014"


def test_distances_use_the_pages_decimal_mark() -> None:
    """German pages write 0,3 km with a decimal comma, English ones 0.3 km; from 10 km on whole kilometres."""
    assert texts.distance(0.3336, "de") == "0,3 km"
    assert texts.distance(0.3336, "en") == "0.3 km"
    assert texts.distance(9.96, "de") == "10,0 km"
    assert texts.distance(21.4, "de") == "21 km"
    assert texts.distance(21.4, "en") == "21 km"


def test_catalogue_variants_are_the_erps_skus() -> None:
    """Every variant the shop's catalogue offers is a SKU the demo ERP knows."""
    erp = {sku for sku, *_ in variant_skus()}
    shop = {p.sku(size, code) for p in PRODUCTS.values() for size in p.sizes for code, _ in p.colours}
    assert shop == erp


def test_account_pages_need_a_sign_in(shop: ShopStack) -> None:
    """Without sign-in the order pages lead to the sign-in page; nothing is asked from the ERP."""
    page = Buyer(shop.url).get("/account/orders/091782005")
    assert page.text.count('name="customer"') == 3 and "091782005" not in page.text


def test_a_customer_number_not_offered_is_refused(shop: ShopStack) -> None:
    """Signing in with a number that is not a demo customer is refused."""
    b = Buyer(shop.url)
    assert b.sign_in("9999").status == 400
    assert b.get("/account/orders").text.count('name="customer"') == 3


def test_unknown_order_says_not_found(buyer: Buyer) -> None:
    """An order number the ERP does not know gives 404 "Bestellung nicht gefunden."."""
    page = buyer.get("/account/orders/000000000")
    assert page.status == 404
    assert "Bestellung nicht gefunden." in page.text


def test_another_customers_order_is_not_found(shop: ShopStack) -> None:
    """Customer 4712 cannot open 4711's order: it answers exactly like a missing one."""
    b = Buyer(shop.url)
    b.sign_in("4712")
    page = b.get("/account/orders/091782005")
    assert page.status == 404 and "Bestellung nicht gefunden." in page.text


def test_forged_cookie_cannot_switch_customer(shop: ShopStack, buyer: Buyer) -> None:
    """A session cookie signed with another key is ignored: the visitor is signed out, not customer 4712."""
    forged = Signer().dump(Session(customer="4712"))
    req = urllib.request.Request(shop.url + "/account/orders", headers={"Cookie": f"{COOKIE}={forged}"})
    with urllib.request.urlopen(req, timeout=15) as r:
        text = r.read().decode()
    assert 'name="customer"' in text and "091783100" not in text


def test_invoice_is_streamed_as_an_attachment(buyer: Buyer) -> None:
    """The invoice link delivers the archived PDF as an attachment with the ERP's file name."""
    order = buyer.get("/account/orders/091782005")
    href = re.search(r'class="invoice" href="([^"]+)"', order.text)
    assert href is not None
    pdf = buyer.get(href.group(1).replace("&amp;", "&"))
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment; filename=")
    assert pdf.body.startswith(b"%PDF-") and int(pdf.headers["Content-Length"]) == len(pdf.body)


def test_unknown_invoice_says_not_found(buyer: Buyer) -> None:
    """A document id that is not the order's gives 404 and a sentence, not a broken download."""
    page = buyer.get("/account/orders/091782005/invoice?document=NOPE")
    assert page.status == 404 and "Rechnung nicht gefunden." in page.text


def test_reorder_with_nothing_ticked_adds_nothing(buyer: Buyer) -> None:
    """Pressing "In den Warenkorb" with no line ticked leaves the cart empty (an empty list means "all" to the API)."""
    buyer.get("/account/orders/091782005/reorder", {})
    assert "Ihr Warenkorb ist leer." in buyer.get("/cart").text


def test_reorder_all_names_the_lines_that_cannot_be_reordered(shop: ShopStack) -> None:
    """Reordering all of 4712's order 091799001 adds the sellable lines and names the discontinued one's successor."""
    b = Buyer(shop.url)
    b.sign_in("4712")
    page = b.get("/account/orders/091799001/reorder", {"all": "1"})
    assert "Nicht nachbestellbar:" in page.text and "Nachfolger: 7002" in page.text
    assert 'data-article="7001"' not in page.text


def test_reorder_all_of_the_sheet_order(buyer: Buyer) -> None:
    """The "all reorderable articles" button puts 2x 6392, 1x 6393 and 2x 22030 into the cart, nothing else."""
    page = buyer.get("/account/orders/091782005/reorder", {"all": "1"})
    rows = re.findall(r'data-article="([^"]+)" data-sku="[^"]*">\s*<td class="num qty">(\d+)<', page.text)
    assert dict(rows) == {"6392": "2", "6393": "1", "22030": "2"}


def test_unknown_postcode_falls_back_to_the_store_order(buyer: Buyer) -> None:
    """A postcode the agent does not know is said so, and the stores are still listed."""
    page = buyer.get("/products/851888?size=XS&colour=KI&postcode=99999")
    assert "Diese Postleitzahl kennen wir nicht" in page.text
    assert "MEGA STORE Hockenheim" in page.text


def test_store_distance_has_a_decimal_comma_on_german_pages(buyer: Buyer) -> None:
    """Near 68766 the Hockenheim store is 0,3 km away on the German page and 0.3 km on the English one."""
    path = "/products/851888?size=XS&colour=KI&postcode=68766"
    hockenheim = re.compile(r'data-store="F01">.*?<td class="num">([^<]*)</td>', re.S)
    german = hockenheim.search(buyer.get(path + "&lang=de").text)
    english = hockenheim.search(buyer.get(path + "&lang=en").text)
    assert german is not None and english is not None
    assert german.group(1) == "0,3 km"
    assert english.group(1) == "0.3 km"


def test_english_labels_come_from_the_api(buyer: Buyer) -> None:
    """With ?lang=en the order's status label is the API's English one and the choice sticks in the cookie."""
    assert 'id="order-status">Delivered<' in buyer.get("/account/orders/091782005?lang=en").text
    assert "Order overview" in buyer.get("/account/orders/091782005").text


def test_slow_erp_gives_the_friendly_message(shop: ShopStack, buyer: Buyer) -> None:
    """When the ERP answers later than the storefront's deadline, the page says the inquiry is unreachable."""
    shop.handlers.delay = 5.0
    try:
        page = buyer.get("/account/orders/091782005")
    finally:
        shop.handlers.delay = 0.0
    assert page.status == 503
    assert "Die Auftragsauskunft ist gerade nicht erreichbar." in page.text
    assert "Traceback" not in page.text


def test_pages_send_no_framing_and_no_inline_script_policy(buyer: Buyer) -> None:
    """Every page carries a Content-Security-Policy and a HttpOnly, SameSite session cookie."""
    page = buyer.get("/")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_storefront_module_imports_only_the_generated_client() -> None:
    """The storefront reaches the ERP only through the generated stubs: it imports no agent or gateway code."""
    folder = Path(__file__).parents[1] / "storefront"
    for source in folder.glob("*.py"):
        text = source.read_text()
        assert "onlineconnect.agent" not in text and "onlineconnect.gateway" not in text, source.name

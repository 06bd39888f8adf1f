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

import grpc
import pytest
import structlog
from browser.stack import ShopStack, running_shop

from onlineconnect.agent.erp.demo.stock_seed import variant_skus
from onlineconnect.gateway.config import GuestLookupConfig, RateLimit
from onlineconnect.storefront import texts
from onlineconnect.storefront.catalogue import PRODUCTS
from onlineconnect.storefront.cookies import COOKIE, CartLine, Session, Signer
from onlineconnect.storefront.server import Network, proxy_networks, visitor_address
from onlineconnect.testing import SHOP_KEY
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc


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

    def track(self, order_number: str, postcode: str, last_name: str = "", *, lang: str = "") -> Page:
        """Opens "Bestellung verfolgen" and sends its form, as a visitor does (the form's token included)."""
        form = self.get("/track" + (f"?lang={lang}" if lang else ""))
        token = re.search(r'name="token" value="([^"]+)"', form.text)
        assert form.status == 200 and token is not None, form.text[:500]
        fields = {"token": token.group(1), "order_number": order_number, "postcode": postcode}
        return self.get("/track", fields | ({"last_name": last_name} if last_name else {}))


#: Every visitor of these tests comes from 127.0.0.1: the shared shop's per-IP limit of guest lookups is generous.
ROOMY = GuestLookupConfig(ip_rate_limit=RateLimit(per_second=10.0, burst=100))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopStack]:
    """Demo ERP, gateway, agent and storefront, shared by the module's tests."""
    with running_shop(tmp_path_factory.mktemp("shop"), guest_lookup=ROOMY) as stack:
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


def problem(page: Page) -> str:
    """The page's error sentence (``#problem``), or ""."""
    m = re.search(r'id="problem">([^<]*)<', page.text)
    return m.group(1) if m else ""


def test_track_page_is_reachable_without_signing_in(shop: ShopStack) -> None:
    """A visitor who never signed in finds "Bestellung verfolgen" in the header and on sign-in page, and its form."""
    """A signed-out visitor finds "Bestellung verfolgen" in the header and on the sign-in page, and its form."""
    visitor = Buyer(shop.url)
    for path in ("/", "/signin", "/cart", "/products/851888"):
        assert 'href="/track"' in visitor.get(path).text, path
    page = visitor.get("/track")
    assert page.status == 200
    assert "<h1>Bestellung verfolgen</h1>" in page.text
    for name in ("order_number", "postcode", "last_name", "token"):
        assert f'name="{name}"' in page.text
    assert 'method="post" action="/track"' in page.text
    assert 'name="customer"' not in page.text, "not the sign-in page"


def test_track_shows_the_sheets_order_without_prices(shop: ShopStack) -> None:
    """Order 091782005 with postcode 68766: status, lines with delivery state, DHL link, history; no amount, no PDF."""
    shop.handlers.methods.clear()
    page = Buyer(shop.url).track("091782005", "68766")
    assert page.status == 200, problem(page)
    assert 'id="order-number">091782005<' in page.text
    assert 'id="order-status">Ausgeliefert<' in page.text
    assert 'id="delivered-on">14.07.2014<' in page.text
    rows = re.findall(r'<tr data-article="([^"]+)">\s*<td class="num">(\d+)</td>', page.text)
    assert rows == [("6392", "2"), ("6393", "1"), ("SY 1", "1"), ("12009", "1"), ("22030", "2")]
    link = re.search(r'class="tracking" href="([^"]+)"[^>]*>056326500434<', page.text)
    assert link is not None and link.group(1).startswith("https://") and "056326500434" in link.group(1)
    assert page.text.count("<time>") >= 5
    for absent in ("€", "114,45", "Rechnung (pdf)", "/invoice", "Nachbestellen", "Mustermann", "Hockenheim"):
        assert absent not in page.text, absent
    assert shop.handlers.methods == ["LookupGuestOrder"]


def test_track_shows_backordered_lines_with_their_expected_date(shop: ShopStack) -> None:
    """The partly delivered 091790117 (delivered to 10178, last name Strauß) shows two parcels and the date to come."""
    page = Buyer(shop.url).track("091790117", "10 178", "STRAUSS")
    assert page.status == 200, problem(page)
    assert 'id="order-status">Teilweise ausgeliefert<' in page.text
    assert re.search(r'class="backordered">\d+ Stück folgen, voraussichtlich am \d\d\.\d\d\.\d{4}<', page.text)
    assert len(re.findall(r"<li data-parcel=", page.text)) == 2


def test_track_in_english(shop: ShopStack) -> None:
    """With the switch on English the page, its status labels (from the API) and its dates are English."""
    page = Buyer(shop.url).track("091782005", "68766", lang="en")
    assert "<h1>Track your order</h1>" in page.text
    assert 'id="order-status">Delivered<' in page.text
    assert 'id="delivered-on">14 Jul 2014<' in page.text


def test_wrong_postcode_and_unknown_order_read_the_same(shop: ShopStack) -> None:
    """A wrong postcode, a wrong last name and an unknown order number all get the one sentence that names no field."""
    visitor = Buyer(shop.url)
    wrong_postcode = visitor.track("091805002", "12345")
    wrong_name = visitor.track("091805377", "68766", "Beispiel")
    unknown = visitor.track("099999999", "68766")
    expected = "Keine Bestellung zu diesen Angaben gefunden. Bitte prüfen Sie Ihre Eingaben."
    for page in (wrong_postcode, wrong_name, unknown):
        assert page.status == 404
        assert problem(page) == expected
        assert 'name="postcode"' in page.text, "the form is there to try again"
    assert 'id="order_number" value="091805002"' in wrong_postcode.text, "the order number stays filled in"
    assert "12345" not in wrong_postcode.text, "the postcode is not echoed"
    english = visitor.track("091805002", "54321", lang="en")
    assert problem(english) == "No order found for these details. Please check what you entered."


def test_a_post_without_the_forms_token_never_reaches_the_erp(shop: ShopStack) -> None:
    """A post from another site (no session, no token) is refused before anything is asked of the ERP."""
    shop.handlers.methods.clear()
    stranger = Buyer(shop.url)
    page = stranger.get("/track", {"order_number": "091782005", "postcode": "68766"})
    assert page.status == 403
    assert "Das Formular ist abgelaufen." in problem(page)
    forged = stranger.get("/track", {"token": "guessed", "order_number": "091782005", "postcode": "68766"})
    assert forged.status == 403
    assert shop.handlers.methods == []


def test_missing_fields_are_asked_for_without_asking_the_erp(shop: ShopStack) -> None:
    """Without a postcode the page asks for both fields and the ERP is not asked."""
    shop.handlers.methods.clear()
    page = Buyer(shop.url).track("091782005", "")
    assert page.status == 400 and problem(page) == "Bitte geben Sie Bestellnummer und Postleitzahl an."
    assert shop.handlers.methods == []


def lookup_from(address: str, customer_ip: str) -> grpc.StatusCode:
    """The status of a guest lookup of the sheet's order sent straight to the gateway with ``customer_ip``."""
    with grpc.insecure_channel(address) as channel:
        stub = orders_pb2_grpc.OrderServiceStub(channel)  # type: ignore[no-untyped-call]
        request = orders_pb2.LookupGuestOrderRequest(order_number="091782005", postcode="68766")
        metadata = (("authorization", f"Bearer {SHOP_KEY}"), ("x-customer-ip", customer_ip))
        try:
            stub.LookupGuestOrder(request, metadata=metadata, timeout=10)
        except grpc.RpcError as exc:
            return exc.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


def test_too_many_attempts_from_the_visitors_ip(tmp_path: Path) -> None:
    """Beyond the gateway's per-IP limit the page says "Zu viele Versuche"; the limit counted the visitor's address.

    The storefront sends the visitor's address (127.0.0.1 here) as x-customer-ip: a direct call with that address
    finds its bucket spent, a call with another address is answered.
    """
    tight = GuestLookupConfig(ip_rate_limit=RateLimit(per_second=0.001, burst=2))
    with running_shop(tmp_path, guest_lookup=tight) as stack:
        visitor = Buyer(stack.url)
        assert visitor.track("091782005", "68766").status == 200
        assert visitor.track("091805002", "12345").status == 404
        german = visitor.track("091782005", "68766")
        english = visitor.track("091782005", "68766", lang="en")
        assert german.status == english.status == 429
        assert problem(german) == "Zu viele Versuche. Bitte versuchen Sie es später erneut."
        assert problem(english) == "Too many attempts. Please try again later."
        assert 'name="postcode"' in german.text
        assert lookup_from(stack.relay.address, "127.0.0.1") == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert lookup_from(stack.relay.address, "203.0.113.9") == grpc.StatusCode.OK


def test_a_locked_order_number_reads_like_a_wrong_pair(tmp_path: Path) -> None:
    """After five wrong postcodes for one order even the right one gets the same not-found sentence (locked)."""
    with running_shop(tmp_path, guest_lookup=ROOMY) as stack:
        visitor = Buyer(stack.url)
        for wrong in ("11111", "22222", "33333", "44444", "55555"):
            assert visitor.track("091801244", wrong).status == 404
        stack.handlers.methods.clear()
        locked = visitor.track("091801244", "68766")
        assert locked.status == 404
        assert problem(locked) == "Keine Bestellung zu diesen Angaben gefunden. Bitte prüfen Sie Ihre Eingaben."
        assert stack.handlers.methods == [], "the gateway answered without asking the agent"
        assert visitor.track("091782005", "68766").status == 200, "other orders are not locked"


def test_a_postcode_the_api_refuses_asks_to_check_the_input(shop: ShopStack) -> None:
    """A postcode of characters no postcode has is refused by the API (INVALID_ARGUMENT): the page asks to check."""
    page = Buyer(shop.url).track("091782005", "68#766")
    assert page.status == 400
    assert problem(page).startswith("Bitte prüfen Sie Ihre Eingaben: die Bestellnummer und die Postleitzahl")


def test_the_postcode_is_in_no_log_line_and_no_url(shop: ShopStack) -> None:
    """Looking up with a postcode leaves it in no log event of shop, gateway or agent, and in no URL of the page."""
    with structlog.testing.capture_logs() as events:
        found = Buyer(shop.url).track("091782005", "68766")
        wrong = Buyer(shop.url).track("091801244", "97531")
    assert found.status == 200 and wrong.status == 404
    assert events, "the lookups were logged"
    for event in events:
        assert "68766" not in repr(event) and "97531" not in repr(event), event
    for page in (found, wrong):
        assert not re.search(r'(href|action)="[^"]*(68766|97531)', page.text)


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


TRUSTED = proxy_networks(["127.0.0.1", "10.0.0.0/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "visitor"),
    [
        ("127.0.0.1", ["198.51.100.7"], (), "127.0.0.1"),  # no trusted proxy: the header is ignored
        ("192.0.2.1", ["198.51.100.7"], TRUSTED, "192.0.2.1"),  # the peer is no trusted proxy: ignored too
        ("127.0.0.1", ["198.51.100.7"], TRUSTED, "198.51.100.7"),
        ("127.0.0.1", [], TRUSTED, "127.0.0.1"),
        # The client wrote the leftmost entry itself; the trusted chain appended the visitor and an inner proxy.
        ("127.0.0.1", ["203.0.113.66, 198.51.100.7, 10.1.2.3"], TRUSTED, "198.51.100.7"),
        ("127.0.0.1", ["203.0.113.66", "198.51.100.7"], TRUSTED, "198.51.100.7"),  # two headers read as one list
        ("127.0.0.1", ["not-an-ip, 10.1.2.3"], TRUSTED, "127.0.0.1"),  # garbled: the proxy's own address
        ("127.0.0.1", ["2001:db8::1"], TRUSTED, "2001:db8::1"),
    ],
)
def test_the_visitors_address_behind_trusted_proxies(
    peer: str, forwarded: list[str], trusted: tuple[Network, ...], visitor: str
) -> None:
    """X-Forwarded-For is believed only from a trusted proxy, read from the right, trusted hops skipped."""
    assert visitor_address(peer, forwarded, trusted) == visitor


def test_a_bad_trusted_proxy_is_named() -> None:
    with pytest.raises(ValueError, match=re.escape("--trusted-proxy 'ten.0.0.0/8'")):
        proxy_networks(["ten.0.0.0/8"])


def test_behind_a_trusted_proxy_the_limit_counts_the_forwarded_visitor(tmp_path: Path) -> None:
    """With the storefront behind a reverse proxy on 127.0.0.1, the per-IP limit of guest lookups counts the
    visitor that X-Forwarded-For names, not the proxy: the visitor's bucket is spent, the proxy's is not."""
    tight = GuestLookupConfig(ip_rate_limit=RateLimit(per_second=0.001, burst=2))
    with running_shop(tmp_path, guest_lookup=tight, trusted_proxies=("127.0.0.1",)) as stack:
        visitor = Buyer(stack.url)
        visitor.opener.addheaders.append(("X-Forwarded-For", "203.0.113.77"))
        assert visitor.track("091782005", "68766").status == 200
        assert visitor.track("091805002", "12345").status == 404
        assert visitor.track("091782005", "68766").status == 429
        assert lookup_from(stack.relay.address, "203.0.113.77") == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert lookup_from(stack.relay.address, "127.0.0.1") == grpc.StatusCode.OK

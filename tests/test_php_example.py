"""examples/php, served by PHP's built-in web server, shows order list and Bestellübersicht from a live gateway."""

from __future__ import annotations

import hashlib
import os
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import grpc
import pytest
from support.ops_stack import SHOP_KEY, Stack, demo_stack
from test_php_client import PHP, php_ready

from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

ROOT = Path(__file__).resolve().parent.parent
DOCROOT = ROOT / "examples" / "php" / "public"
AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)


@dataclass
class Site:
    """The running example: its base URL and the stack behind it."""

    url: str
    stack: Stack
    log: Path


class Links(HTMLParser):
    """Collects every <a>'s attributes and text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str]] = []
        self._open: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Starts collecting an <a>."""
        if tag == "a":
            self._open = {k: v or "" for k, v in attrs} | {"text": ""}
            self.links.append(self._open)

    def handle_data(self, data: str) -> None:
        """Adds text to the open <a>."""
        if self._open is not None:
            self._open["text"] += data

    def handle_endtag(self, tag: str) -> None:
        """Closes the <a>."""
        if tag == "a":
            self._open = None


def links(html: str, css_class: str | None = None) -> list[dict[str, str]]:
    """The page's links (with ``css_class`` only, if given); ``href`` is HTML-unescaped."""
    parser = Links()
    parser.feed(html)
    return [a for a in parser.links if css_class is None or css_class in a.get("class", "").split()]


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``: status, headers (lower-case names), body; error statuses are returned, not raised."""
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def free_port() -> int:
    """A loopback TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Gateway and agent on the demo ERP, and ``php -S`` serving examples/php/public against them."""
    php_ready()
    assert PHP is not None
    folder = tmp_path_factory.mktemp("php-example")
    with demo_stack(folder / "stack", metrics=False, http=True) as stack:
        port = free_port()
        log = folder / "php.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [PHP, "-S", f"127.0.0.1:{port}", "-t", str(DOCROOT)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "OC_BASE_URL": stack.http, "OC_API_KEY": SHOP_KEY, "OC_CUSTOMER": "4711"},
            )
        try:
            deadline = time.monotonic() + 20
            while True:
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert server.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "php -S did not come up"
                time.sleep(0.05)
            yield Site(f"http://127.0.0.1:{port}", stack, log)
        finally:
            server.terminate()
            server.wait(timeout=10)


def grpc_orders(stack: Stack) -> orders_pb2_grpc.OrderServiceStub:
    """A gRPC stub on the same gateway, for the reference answers."""
    return orders_pb2_grpc.OrderServiceStub(grpc.insecure_channel(stack.address))


def test_order_list_shows_every_order_of_the_customer(site: Site) -> None:
    """The start page lists customer 4711's orders with dates and status labels, each linking to its detail page."""
    status, headers, body = fetch(site.url + "/")
    assert status == 200, body[-2000:]
    assert headers["content-type"].startswith("text/html")
    html = body.decode()
    expected = grpc_orders(site.stack).ListOrders(
        orders_pb2.ListOrdersRequest(customer_number="4711", page_size=20), metadata=AUTH, timeout=10
    )
    assert expected.orders, "the demo customer has orders"
    for o in expected.orders:
        assert f'data-order="{o.order_number}"' in html
        assert o.status_label in html
    assert "13.07.2014" in html and "114,45 €" in html
    details = {a["href"] for a in links(html)}
    assert "/order.php?order=091782005" in details


def test_order_detail_is_the_product_sheets_bestelluebersicht(site: Site) -> None:
    """Order 091782005 shows number, date, amount, status, delivery date, tracking link, shop number and lines."""
    status, _, body = fetch(site.url + "/order.php?order=091782005")
    assert status == 200, body[-2000:]
    html = body.decode()
    assert "<h1>Bestellübersicht</h1>" in html
    assert '<span id="order-number">091782005</span>' in html
    assert '<span id="amount">114,45 €</span>' in html
    assert '<span id="order-status">Ausgeliefert</span>' in html
    assert "13.07.2014" in html and "14.07.2014" in html and "140511214402704" in html
    for article, description in [
        ("6392", "Ochsenziemer XL"),
        ("6393", "Rinderhaut-Streifen XL"),
        ("SY 1", "Versandkostenfrei"),
        ("12009", "Gesamtkatalog 2014"),
        ("22030", "Kleine Belohnung für Ihren Hund"),
    ]:
        assert f'data-article="{article}"' in html and description in html
    order = (
        grpc_orders(site.stack)
        .GetOrder(orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=AUTH)
        .order
    )
    tracking = links(html, "tracking")
    assert [(a["text"], a["href"]) for a in tracking] == [
        (sh.parcel_number, sh.tracking_url)
        for sh in order.shipments
        if sh.direction == orders_pb2.SHIPMENT_DIRECTION_OUTBOUND
    ]
    assert tracking[0]["text"] == "056326500434"
    assert tracking[0]["href"].startswith("https://") and "&amp;" not in tracking[0]["href"]
    assert "&amp;idc=056326500434" in html, "the & of the tracking link is escaped in the HTML"
    assert tracking[0]["rel"] == "noopener noreferrer"
    delivered = [line.status_label for line in order.lines if line.status_label]
    assert delivered and all(f'<td class="line-status">{label}</td>' in html for label in delivered)


def test_invoice_link_downloads_the_pdf(site: Site) -> None:
    """The Bestellübersicht's invoice link downloads the archived PDF, byte for byte as the gRPC stream sends it."""
    _, _, body = fetch(site.url + "/order.php?order=091782005")
    invoices = links(body.decode(), "invoice")
    assert len(invoices) == 1 and "Rechnung (pdf)" in invoices[0]["text"]
    status, headers, pdf = fetch(site.url + invoices[0]["href"])
    assert status == 200, pdf[-2000:]
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("attachment; filename=")
    assert pdf.startswith(b"%PDF-")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(invoices[0]["href"]).query)
    chunks = list(
        grpc_orders(site.stack).GetInvoicePdf(
            orders_pb2.GetInvoicePdfRequest(
                customer_number="4711", order_number="091782005", document_id=query["document"][0]
            ),
            metadata=AUTH,
        )
    )
    assert pdf == b"".join(c.data for c in chunks)
    assert hashlib.sha256(pdf).hexdigest() == chunks[0].sha256
    assert int(headers["content-length"]) == len(pdf)


def test_another_customers_order_is_404(site: Site) -> None:
    """An order of customer 4712 answers 404 "nicht gefunden" for the signed-in customer 4711."""
    other = grpc_orders(site.stack).ListOrders(orders_pb2.ListOrdersRequest(customer_number="4712"), metadata=AUTH)
    status, _, body = fetch(site.url + "/order.php?order=" + other.orders[0].order_number)
    assert status == 404
    assert "Diese Bestellung wurde nicht gefunden." in body.decode()
    assert other.orders[0].order_number not in body.decode()


def test_request_text_is_escaped(site: Site) -> None:
    """Markup in the query string never reaches the page unescaped."""
    evil = '<script>alert("x")</script>'
    for path in ("/order.php?order=", "/?filter=", "/invoice.php?order=091782005&document="):
        status, _, body = fetch(site.url + path + urllib.parse.quote(evil))
        assert status in (200, 400, 404), (path, status, body[-500:])
        assert b"<script>" not in body


def test_erp_text_is_escaped(site: Site) -> None:
    """Markup in ERP data (an article description) is shown as text, never as HTML."""
    hostile = '<img src=x onerror=alert(1)> & "Leine"'
    with sqlite3.connect(site.stack.folder / "erp.db") as db:
        changed = db.execute(
            "UPDATE order_lines SET description = ? WHERE order_no = '091650001' AND line_no = 1", (hostile,)
        ).rowcount
    assert changed == 1
    status, _, body = fetch(site.url + "/order.php?order=091650001")
    assert status == 200, body[-2000:]
    html = body.decode()
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &quot;Leine&quot;" in html


def post(url: str, form: dict[str, str], headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """POSTs ``form`` to ``url``: status and body; error statuses are returned, not raised."""
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_guest_lookup_shows_the_order_without_prices(site: Site) -> None:
    """track.php: the form is posted; 091782005 with 68766 shows status, lines, the DHL link and history, no amounts."""
    status, _, form = fetch(site.url + "/track.php")
    assert status == 200 and b'method="post" action="/track.php"' in form
    assert b'href="/track.php"' in fetch(site.url + "/")[2], "linked from the order list"
    status, body = post(site.url + "/track.php", {"order_number": "091782005", "postcode": "68 766"})
    assert status == 200, body[-2000:]
    html = body.decode()
    assert '<dd id="order-status">Ausgeliefert</dd>' in html
    assert html.count("<tr data-article=") == 5
    tracking = links(html, "tracking")
    assert [a["text"] for a in tracking] == ["056326500434"] and tracking[0]["href"].startswith("https://")
    assert html.count("<time>") >= 5
    assert "€" not in html and "Rechnung (pdf)" not in html


def test_guest_lookup_with_a_wrong_postcode_is_404_without_naming_the_field(site: Site) -> None:
    """A wrong postcode answers 404 "Keine Bestellung zu diesen Angaben gefunden." and does not echo the postcode."""
    status, body = post(site.url + "/track.php", {"order_number": "091805377", "postcode": "97531"})
    assert status == 404, body[-2000:]
    html = body.decode()
    assert '<p class="problem" id="problem">Keine Bestellung zu diesen Angaben gefunden.</p>' in html
    assert "97531" not in html and 'value="091805377"' in html


def test_guest_lookup_posted_from_another_site_is_refused(site: Site) -> None:
    """A form posted from a page on another site (its Origin) is refused; the same post from the page itself works."""
    form = {"order_number": "091782005", "postcode": "68766"}
    status, body = post(site.url + "/track.php", form, {"Origin": "https://guesser.example"})
    assert status == 403 and "Ausgeliefert" not in body.decode()
    status, body = post(site.url + "/track.php", form, {"Origin": site.url})
    assert status == 200 and "Ausgeliefert" in body.decode()


def test_offline_erp_gives_a_503_page(site: Site) -> None:
    """With the agent stopped, the pages answer 503 with a sentence for the customer instead of failing."""
    site.stack.stop("agent")
    for path in ("/", "/order.php?order=091782005"):
        status, _, body = fetch(site.url + path)
        assert status == 503, body[-1000:]
        assert "Die Auftragsauskunft ist gerade nicht erreichbar." in body.decode()
    assert "onlineconnect: unavailable" in site.log.read_text(), "the reason goes to the PHP log"

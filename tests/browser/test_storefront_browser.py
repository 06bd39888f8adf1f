"""The reference storefront in a real browser: headless Debian chromium driven by Playwright, clicking as a buyer.

Behind the storefront run the real gateway and agent on the demo ERP. Every page visited is saved as a screenshot in
``var/screenshots/storefront/`` (or ``$STOREFRONT_SCREENSHOTS``), so a reviewer can look at what the buyer saw.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.stack import ShopStack, running_shop

from onlineconnect.gateway.config import GuestLookupConfig, RateLimit
from onlineconnect.testing import need_service

CHROMIUM = Path("/usr/bin/chromium")
# The system browser, never one Playwright would download; flags keep it quiet and offline.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = Path(os.environ.get("STOREFRONT_SCREENSHOTS", Path(__file__).parents[2] / "var" / "screenshots" / "storefront"))


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShopStack]:
    """Demo ERP, gateway, agent and storefront, shared by the module's tests (every visitor is 127.0.0.1, so the
    per-IP limit of guest lookups is generous)."""
    roomy = GuestLookupConfig(ip_rate_limit=RateLimit(per_second=10.0, burst=100))
    with running_shop(tmp_path_factory.mktemp("shop"), guest_lookup=roomy) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless chromium from Debian's package, driven by Playwright."""
    need_service(CHROMIUM.exists(), f"{CHROMIUM} missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need_service(False, "Python package playwright missing (pip install -e '.[dev]')")
        raise
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nstorefront screenshots: {SHOTS}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, shop: ShopStack) -> Iterator[Any]:
    """A fresh browser context (no cookies) with customer 4711 signed in."""
    context = browser.new_context(accept_downloads=True, locale="de-DE")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.goto(f"{shop.url}/signin")
    pg.check("input[value='4711']")
    pg.click("#sign-in")
    pg.wait_for_url(re.compile(r"/account/orders$"))
    yield pg
    context.close()


def shot(page: Any, name: str) -> None:
    """Saves a full-page screenshot under SHOTS."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_sheet_order(page: Any) -> None:
    """Goes from the order history to order 091782005 (on the second page of all orders) by clicking."""
    page.click("#filter-all")
    page.click("#more")
    page.locator("tr[data-order='091782005'] a").click()
    page.wait_for_url(re.compile(r"/account/orders/091782005$"))


def test_order_history_lists_orders_with_status_and_filters(page: Any) -> None:
    """After sign-in the history shows the customer's orders with status; open and historical filters split them."""
    shot(page, "01-orders-all")
    assert page.locator("tr[data-order]").count() == 5
    assert page.locator("#more").is_visible()
    page.click("#filter-open")
    shot(page, "02-orders-open")
    open_statuses = page.locator("tr[data-order] td.status").all_inner_texts()
    assert "Teilweise ausgeliefert" in open_statuses and "Ausgeliefert" not in open_statuses
    page.click("#filter-historical")
    shot(page, "03-orders-historical")
    assert page.locator("tr[data-order='091782005'] td.status").inner_text() == "Ausgeliefert"


def test_order_detail_is_the_sheets_overview_with_tracking_link(page: Any) -> None:
    """Order 091782005 shows Belegnummer, Betrag and the DHL tracking link for parcel 056326500434."""
    open_sheet_order(page)
    shot(page, "04-order-091782005")
    sheet = page.locator("dl.sheet").inner_text()
    for text in ("091782005", "13.07.2014", "114,45 €", "14.07.2014", "140511214402704", "Rechnung (pdf)"):
        assert text in sheet
    link = page.locator("a.tracking").first
    assert link.inner_text() == "056326500434"
    href = link.get_attribute("href")
    assert href.startswith("https://") and "dhl" in href and "056326500434" in href
    assert page.locator("#history li").count() >= 5


def test_invoice_download_is_a_pdf(page: Any, tmp_path: Path) -> None:
    """Clicking "Rechnung (pdf)" downloads the archived invoice streamed from the ERP: a real PDF."""
    open_sheet_order(page)
    with page.expect_download() as info:
        page.locator("a.invoice").first.click()
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(target)
    assert target.suffix == ".pdf"
    assert target.read_bytes().startswith(b"%PDF-")


def test_reorder_puts_the_ticked_product_lines_into_the_cart(page: Any) -> None:
    """Ticking 6392, 6393 and 22030 puts 2, 1 and 2 of them into the cart; shipping and catalogue cannot be ticked."""
    open_sheet_order(page)
    for article in ("SY 1", "12009"):
        assert page.locator(f"tr[data-article='{article}'] input[type=checkbox]").count() == 0
    for article in ("6392", "6393", "22030"):
        page.locator(f"tr[data-article='{article}'] input[type=checkbox]").check()
    shot(page, "05-reorder-ticked")
    page.click("#to-cart")
    page.wait_for_url(re.compile(r"/cart$"))
    shot(page, "06-cart")
    rows = page.locator("table.cart tr[data-article]")
    cart = {rows.nth(i).get_attribute("data-article"): rows.nth(i).locator(".qty").inner_text() for i in range(3)}
    assert cart == {"6392": "2", "6393": "1", "22030": "2"}
    assert rows.count() == 3


def test_product_page_shows_hockenheim_first_with_one_piece(page: Any, shop: ShopStack) -> None:
    """Polo shirt 851888 in XS/kirsch near postcode 68766 shows MEGA STORE Hockenheim first with 1 piece available."""
    page.goto(f"{shop.url}/products/851888")
    page.select_option("select[name=colour]", "KI")
    page.select_option("select[name=size]", "XS")
    page.fill("input[name=postcode]", "68766")
    page.click("#choose")
    page.wait_for_selector("#availability")
    shot(page, "07-product-851888-XS-KI")
    assert page.locator("#sku").inner_text() == "851888-XS-KI"
    assert page.locator("#availability").inner_text() == "Dieser Artikel ist im MEGA STORE Hockenheim 1x verfügbar"
    first = page.locator("table.stock tr").first
    assert "MEGA STORE Hockenheim" in first.inner_text() and "1x verfügbar" in first.inner_text()


def test_english_pages_with_labels_from_the_api(page: Any) -> None:
    """The language switch turns the shop's texts and the API's status labels English, and stays on."""
    page.click("#lang-switch")
    shot(page, "08-orders-english")
    assert page.locator("h1").text_content() == "My orders"
    open_sheet_order(page)
    assert page.locator("#order-status").inner_text() == "Delivered"
    assert "Order number" in page.locator("dl.sheet").inner_text()


def test_offline_agent_gives_a_friendly_message_and_the_shop_stays_usable(page: Any, shop: ShopStack) -> None:
    """With the agent stopped, order and stock pages say the inquiry is unreachable; catalogue and cart still work."""
    shop.stop_agent()
    try:
        page.goto(f"{shop.url}/account/orders/091782005")
        shot(page, "09-order-agent-offline")
        assert page.locator("#problem").inner_text().startswith("Die Auftragsauskunft ist gerade nicht erreichbar")
        assert "Traceback" not in page.content()
        page.goto(f"{shop.url}/products/851888?size=XS&colour=KI")
        shot(page, "10-product-agent-offline")
        assert page.locator("#stock-message").inner_text().startswith("Die Bestandsauskunft ist gerade nicht")
        assert page.locator("h1").text_content() == "STEEDS Poloshirt Lilli"
        page.click("#nav-cart")
        assert page.locator("h1").text_content() == "Warenkorb"
    finally:
        shop.start_agent()
    page.goto(f"{shop.url}/account/orders/091782005")
    assert page.locator("#order-number").inner_text() == "091782005"


@pytest.fixture
def visitor(browser: Any, shop: ShopStack) -> Iterator[Any]:
    """A fresh browser context (no cookies) on the front page; nobody signed in."""
    context = browser.new_context(locale="de-DE")
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    pg.goto(shop.url)
    yield pg
    context.close()


def track(page: Any, order_number: str, postcode: str, last_name: str = "") -> None:
    """Fills in "Bestellung verfolgen" and sends it."""
    page.fill("#order_number", order_number)
    page.fill("#postcode", postcode)
    if last_name:
        page.fill("#last_name", last_name)
    page.click("#track-submit")
    page.wait_for_load_state()


def test_guest_tracks_the_sheets_order_without_signing_in(visitor: Any) -> None:
    """Via the header link, order 091782005 with postcode 68766 shows status, lines, DHL link, history; no prices."""
    visitor.click("#nav-track")
    visitor.wait_for_url(re.compile(r"/track$"))
    assert visitor.locator("h1").text_content() == "Bestellung verfolgen"
    shot(visitor, "11-track-form")
    track(visitor, "091782005", "68766")
    shot(visitor, "12-track-091782005")
    assert visitor.locator("#order-number").inner_text() == "091782005"
    assert visitor.locator("#order-status").inner_text() == "Ausgeliefert"
    assert visitor.locator("#delivered-on").inner_text() == "14.07.2014"
    articles = visitor.locator("#guest-lines tr[data-article]")
    assert articles.count() == 5
    assert visitor.locator("#guest-lines tr[data-article='6392'] td.state").inner_text() == "Ausgeliefert"
    link = visitor.locator("#parcels a.tracking")
    assert link.inner_text() == "056326500434"
    href = link.get_attribute("href")
    assert href.startswith("https://") and "dhl" in href and "056326500434" in href
    assert visitor.locator("#history li").count() >= 5
    body = visitor.locator("main").inner_text()
    assert "€" not in body
    assert "Rechnung (pdf)" not in body and visitor.locator("a.invoice").count() == 0
    assert "Abmelden" not in visitor.content(), "nobody is signed in"


def test_guest_sees_the_backordered_line_and_its_expected_date(visitor: Any, shop: ShopStack) -> None:
    """The partly delivered 091790117, found by its delivery postcode and the name STRAUSS, shows what follows when."""
    visitor.goto(f"{shop.url}/track")
    track(visitor, "091790117", "10178", "STRAUSS")
    shot(visitor, "13-track-091790117")
    assert visitor.locator("#order-status").inner_text() == "Teilweise ausgeliefert"
    waiting = visitor.locator("#guest-lines small.backordered").first.inner_text()
    assert re.fullmatch(r"\d+ Stück folgen, voraussichtlich am \d\d\.\d\d\.\d{4}", waiting), waiting
    assert visitor.locator("#parcels li").count() == 2


def test_guest_with_a_wrong_postcode_is_told_nothing_was_found(visitor: Any) -> None:
    """From the sign-in page's link, a wrong postcode gives the not-found sentence and the form again."""
    visitor.click("text=Anmelden")
    visitor.click("#signin-track")
    track(visitor, "091805002", "12345")
    shot(visitor, "14-track-wrong-postcode")
    message = visitor.locator("#problem").inner_text()
    assert message == "Keine Bestellung zu diesen Angaben gefunden. Bitte prüfen Sie Ihre Eingaben."
    assert "Postleitzahl" not in message and "Bestellnummer" not in message, "the sentence names no field"
    assert visitor.locator("#order_number").input_value() == "091805002"
    assert visitor.locator("#postcode").input_value() == ""
    assert visitor.locator("#order-status").count() == 0


def test_guest_lookup_in_english(visitor: Any) -> None:
    """In English: "Track your order"; the right pair shows "Delivered", a wrong postcode "No order found"."""
    visitor.click("#lang-switch")
    visitor.click("#nav-track")
    assert visitor.locator("h1").text_content() == "Track your order"
    track(visitor, "091782005", "68766")
    shot(visitor, "15-track-english")
    assert visitor.locator("#order-status").inner_text() == "Delivered"
    assert visitor.locator("#delivered-on").inner_text() == "14 Jul 2014"
    visitor.click("#track-again")
    track(visitor, "091805002", "54321")
    shot(visitor, "16-track-english-wrong-postcode")
    assert (
        visitor.locator("#problem").inner_text() == "No order found for these details. Please check what you entered."
    )

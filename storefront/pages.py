"""The storefront's pages: sign-in, order history, order detail, invoice download, reorder, guest order lookup,
cart, product page.

Every page that asks the ERP catches :class:`~.client.InquiryError` and shows a sentence instead; the rest of the
shop (navigation, catalogue, cart) keeps working while the merchant's agent is offline.
"""

from __future__ import annotations

import re

from onlineconnect.v1 import stock_pb2

from .catalogue import PRODUCTS
from .client import FILTERS, InquiryError
from .cookies import CartLine
from .server import App, Request, Response, Route, redirect
from .texts import TEXTS

#: The demo's customers. A real shop has its own login and never lets the buyer choose the number.
DEMO_CUSTOMERS = (("4711", "Erika Mustermann"), ("4712", "Hans Beispiel"), ("4713", "Petra Probe"))
ORDER_NUMBER = r"(?P<number>[A-Za-z0-9-]{1,32})"
GUEST_ORDER_NUMBER = re.compile(r"[A-Za-z0-9-]{1,32}")
_SELLABLE = (stock_pb2.AVAILABILITY_IN_STOCK, stock_pb2.AVAILABILITY_LOW_STOCK)


def home(app: App, req: Request) -> Response:
    """The catalogue."""
    return app.render(req, "home.html", products=PRODUCTS.values())


def sign_in_form(app: App, req: Request) -> Response:
    """The demo sign-in: pick a customer."""
    return app.render(req, "signin.html", customers=DEMO_CUSTOMERS)


def sign_in(app: App, req: Request) -> Response:
    """Signs the demo customer in; the number goes into the signed cookie, the only place API calls take it from."""
    number = req.arg("customer").strip()
    if number not in dict(DEMO_CUSTOMERS):
        return app.render(req, "signin.html", 400, customers=DEMO_CUSTOMERS)
    req.session.customer = number
    return redirect("/account/orders")


def sign_out(app: App, req: Request) -> Response:
    """Forgets the customer and the cart."""
    req.session.customer, req.session.cart = "", []
    return redirect("/")


def orders(app: App, req: Request) -> Response:
    """The order history, one page at a time, filtered to all, open or historical orders."""
    if not req.session.customer:
        return redirect("/signin")
    flt = req.arg("filter", "all") if req.arg("filter") in FILTERS else "all"
    page_token = req.arg("page")
    try:
        resp = app.client.list_orders(req.session.customer, lang=req.session.lang, filter=flt, page_token=page_token)
    except InquiryError as exc:
        return app.problem(req, exc, unavailable="orders_unavailable", not_found="no_orders")
    return app.render(
        req, "orders.html", orders=resp.orders, filter=flt, next_page=resp.next_page_token, paged=bool(page_token)
    )


def order(app: App, req: Request, number: str) -> Response:
    """One order laid out like the product sheet's "Bestellübersicht", with history, shipments and returns."""
    if not req.session.customer:
        return redirect("/signin")
    try:
        detail = app.client.get_order(req.session.customer, number, lang=req.session.lang)
    except InquiryError as exc:
        return app.problem(req, exc, unavailable="orders_unavailable", not_found="order_not_found")
    descriptions = {line.line_number: line.description for line in detail.lines}
    return app.render(req, "order.html", order=detail, s=detail.summary, descriptions=descriptions)


def track_form(app: App, req: Request) -> Response:
    """The guest order lookup's form ("Bestellung verfolgen"), for visitors with or without an account."""
    return app.render(req, "track.html", order=None, message="", number="", token=req.session.new_form_token())


def track(app: App, req: Request) -> Response:
    """Looks up one order by order number and postcode (and optionally last name) for a visitor without sign-in.

    A POST, so the postcode never lands in a URL, a browser history or an access log, and never in our own log
    lines. The form token proves the post came from our own form: a page on another site could otherwise make its
    visitors' browsers guess order numbers through this shop, each from its own IP address. A wrong pair and an
    unknown order get the same sentence, which names neither field.
    """
    number = req.arg("order_number").strip()
    postcode = req.arg("postcode").strip()
    last_name = req.arg("last_name").strip()
    token = req.session.new_form_token()

    def again(message: str, status: int) -> Response:
        # The order number is the visitor's own input and harmless; postcode and name are not echoed back.
        shown = number if GUEST_ORDER_NUMBER.fullmatch(number) else ""
        return app.render(
            req, "track.html", status, switch_path="/track", order=None, message=message, number=shown, token=token
        )

    if not req.session.form_token_ok(req.arg("token")):
        return again("form_expired", 403)
    if not number or not postcode:
        return again("guest_missing", 400)
    if not GUEST_ORDER_NUMBER.fullmatch(number) or len(postcode) > 16 or len(last_name) > 64:
        return again("guest_not_found", 404)  # no order number or postcode looks like that: nothing to ask
    try:
        found = app.client.lookup_guest_order(
            number, postcode, customer_ip=req.client_ip, last_name=last_name, lang=req.session.lang
        )
    except InquiryError as exc:
        message, status = {
            "not_found": ("guest_not_found", 404),
            "too_many": ("guest_too_many", 429),
            "invalid": ("guest_invalid", 400),  # a postcode of odd characters, or the merchant asks for the name
            "unavailable": ("orders_unavailable", 503),
        }.get(exc.kind, ("failed", 502))
        return again(message, status)
    descriptions = {line.line_number: line.description for line in found.lines}
    return app.render(
        req,
        "track.html",
        switch_path="/track",
        order=found,
        descriptions=descriptions,
        message="",
        number="",
        token=token,
    )


def invoice(app: App, req: Request, number: str) -> Response:
    """Streams an invoice or credit note PDF (``?document=<document_id>``) from the ERP's archive to the browser."""
    if not req.session.customer:
        return redirect("/signin")
    try:
        pdf = app.client.invoice_pdf(req.session.customer, number, req.arg("document"))
    except InquiryError as exc:
        return app.problem(req, exc, unavailable="orders_unavailable", not_found="invoice_not_found")
    return Response(content_type=pdf.content_type or "application/pdf", pdf=pdf)


def reorder(app: App, req: Request, number: str) -> Response:
    """Puts the ticked lines (or, with ``all``, every reorderable line) of an order into the cart."""
    if not req.session.customer:
        return redirect("/signin")
    t = TEXTS[req.session.lang]
    lines = [int(x) for x in req.args("line") if x.isdigit()]
    if not lines and not req.arg("all"):
        # An empty line list means "all lines" to the API; a customer who ticked nothing wants nothing.
        return redirect(f"/account/orders/{number}")
    try:
        resp = app.client.reorder_items(req.session.customer, number, lines, lang=req.session.lang)
    except InquiryError as exc:
        retry = f"/account/orders/{number}"
        return app.problem(req, exc, unavailable="orders_unavailable", not_found="order_not_found", retry=retry)
    for item in resp.items:
        price = item.current_price.amount_minor if item.HasField("current_price") else None
        req.session.add(CartLine(item.article_number, item.sku, item.description, item.quantity, price))
    notes = [t["cart_added"].format(n=sum(i.quantity for i in resp.items))]
    for item in resp.rejected:
        why = t[f"why_{int(item.reason)}"] if item.reason else ""
        successor = f" — {t['successor']}: {item.successor_article_number}" if item.successor_article_number else ""
        notes.append(f"{t['not_reorderable']} {item.article_number} {item.description} ({why}){successor}")
    req.session.notes = notes
    return redirect("/cart")


def cart(app: App, req: Request) -> Response:
    """The cart (a real shop re-prices it from its own catalogue at checkout)."""
    return app.render(req, "cart.html")


def cart_add(app: App, req: Request) -> Response:
    """Adds one variant from the product page."""
    product = PRODUCTS.get(req.arg("article"))
    if product is None:
        return redirect("/")
    size, colour = product.pick(req.arg("size"), req.arg("colour"))
    name = f"{product.name}, {product.colour_name(colour)}, {size}"
    req.session.add(CartLine(product.number, product.sku(size, colour), name, 1, product.price_minor))
    return redirect("/cart")


def cart_clear(app: App, req: Request) -> Response:
    """Empties the cart."""
    req.session.cart = []
    return redirect("/cart")


def product(app: App, req: Request, article: str) -> Response:
    """A product with variant choice and the in-store availability of the chosen variant, nearest store first."""
    item = PRODUCTS.get(article)
    if item is None:
        return app.render(req, "problem.html", 404, message=TEXTS[req.session.lang]["page_not_found"], retry="/")
    size, colour = item.pick(req.arg("size"), req.arg("colour"))
    postcode = req.arg("postcode").strip()
    postcode = postcode if re.fullmatch(r"\d{5}", postcode) else ""
    stock, message = None, ""
    try:
        stock = app.client.store_stock(item.sku(size, colour), postcode=postcode)
    except InquiryError as exc:
        if exc.kind == "invalid" and postcode:
            # A postcode the agent's table does not know: say so and show the stores in their usual order.
            message = "unknown_postcode"
            try:
                stock = app.client.store_stock(item.sku(size, colour))
            except InquiryError as again:
                message = "stock_unavailable" if again.kind == "unavailable" else "nowhere"
        else:
            message = {"unavailable": "stock_unavailable", "not_found": "nowhere"}.get(exc.kind, "failed")
    best = next((s for s in stock.stores if s.availability in _SELLABLE), None) if stock else None
    return app.render(
        req,
        "product.html",
        product=item,
        size=size,
        colour=colour,
        sku=item.sku(size, colour),
        postcode=postcode,
        stock=stock,
        best=best,
        message=message,
    )


def static(app: App, req: Request, name: str) -> Response:
    """The style sheet."""
    from .server import HERE

    return Response(body=(HERE / "static" / name).read_bytes(), content_type="text/css; charset=utf-8")


ROUTES: list[Route] = [
    (method, re.compile(pattern), page)
    for method, pattern, page in (
        ("GET", r"/", home),
        ("GET", r"/signin", sign_in_form),
        ("POST", r"/signin", sign_in),
        ("POST", r"/signout", sign_out),
        ("GET", r"/account/orders", orders),
        ("GET", rf"/account/orders/{ORDER_NUMBER}", order),
        ("GET", rf"/account/orders/{ORDER_NUMBER}/invoice", invoice),
        ("POST", rf"/account/orders/{ORDER_NUMBER}/reorder", reorder),
        ("GET", r"/track", track_form),
        ("POST", r"/track", track),
        ("GET", r"/cart", cart),
        ("POST", r"/cart/add", cart_add),
        ("POST", r"/cart/clear", cart_clear),
        ("GET", r"/products/(?P<article>[0-9]{1,16})", product),
        ("GET", r"/static/(?P<name>shop\.css)", static),
    )
]

"""HTTP plumbing of the storefront: a threaded standard-library server, signed session cookie, templates, routing.

Each browser request runs in its own thread and makes blocking calls on the one shared gRPC channel (thread-safe).
The pages themselves live in :mod:`.pages`; this module only turns HTTP into :class:`Request` and
:class:`Response` and back.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jinja2
import structlog

from . import texts
from .client import InquiryError, PdfDownload, ShopClient
from .cookies import COOKIE, Session, Signer

log = structlog.get_logger("storefront")

HERE = Path(__file__).parent
MAX_FORM_BYTES = 64 * 1024
# No inline scripts or foreign resources: the pages need none, and this keeps injected markup harmless.
SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)


@dataclass
class Request:
    """What a page needs from a browser request; ``session`` may be changed and is saved with the response."""

    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    session: Session
    client_ip: str = ""  # the visitor's address: the socket's peer, or as a trusted proxy forwarded it

    def arg(self, name: str, default: str = "") -> str:
        """The first value of a query or form field."""
        return (self.form.get(name) or self.query.get(name) or [default])[0]

    def args(self, name: str) -> list[str]:
        """Every value of a form field (checkboxes)."""
        return self.form.get(name, [])


@dataclass
class Response:
    """A page, a redirect or an invoice download (``pdf`` is streamed instead of ``body``)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)
    pdf: PdfDownload | None = None


def redirect(location: str) -> Response:
    """A 303 redirect (after a form post, so reloading the page does not post again)."""
    return Response(303, headers=[("Location", location)])


class Formatter:
    """Dates, money, distances and timestamps in the page's language, for the templates."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def date(self, iso: str) -> str:
        return texts.date(iso, self.lang)

    def money(self, m: Any) -> str:
        return texts.money(m.amount_minor, m.currency, self.lang) if m is not None and m.currency else ""

    def cents(self, amount_minor: int | None) -> str:
        return "" if amount_minor is None else texts.money(amount_minor, "EUR", self.lang)

    def km(self, distance: float) -> str:
        return texts.distance(distance, self.lang)

    def ts(self, stamp: Any) -> str:
        return texts.timestamp(stamp.ToDatetime(tzinfo=dt.UTC), self.lang)


Route = tuple[str, re.Pattern[str], Callable[..., Response]]


class App:
    """The storefront: its gRPC client, cookie signer, templates and routes."""

    def __init__(self, client: ShopClient, routes: list[Route], *, signer: Signer | None = None) -> None:
        self.client = client
        self.routes = routes
        self.signer = signer or Signer()
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.StrictUndefined
        )

    def render(
        self, req: Request, template: str, status: int = 200, *, switch_path: str = "/", **context: Any
    ) -> Response:
        """Renders ``template`` with the page's texts, formatter and language switch link.

        After a form post the page's own URL is not one to GET again: the language switch then leads to
        ``switch_path`` (the front page unless the page names its form).
        """
        other = "en" if req.session.lang == "de" else "de"
        query = {k: v[0] for k, v in req.query.items() if k != "lang"} | {"lang": other}
        notes, req.session.notes = req.session.notes, []
        html = self.templates.get_template(template).render(
            t=texts.TEXTS[req.session.lang],
            lang=req.session.lang,
            session=req.session,
            notes=notes,
            fmt=Formatter(req.session.lang),
            switch_url=f"{req.path if req.method == 'GET' else switch_path}?{urlencode(query)}",
            **context,
        )
        return Response(status, html.encode())

    def problem(
        self, req: Request, exc: InquiryError, *, unavailable: str, not_found: str, retry: str = ""
    ) -> Response:
        """The page for a failed inquiry: a sentence the customer understands, the shop around it still works.

        Args:
            req: The request.
            exc: The mapped gRPC error.
            unavailable: Text key for an offline or slow ERP.
            not_found: Text key for NOT_FOUND.
            retry: Where "try again" leads; by default the page itself.
        """
        key, status = {"unavailable": (unavailable, 503), "not_found": (not_found, 404)}.get(exc.kind, ("failed", 502))
        query = urlencode({k: v[0] for k, v in req.query.items() if k != "lang"})
        retry = retry or (f"{req.path}?{query}" if query else req.path)
        return self.render(req, "problem.html", status, message=texts.TEXTS[req.session.lang][key], retry=retry)

    def handle(self, req: Request) -> Response:
        """Runs the route matching the request."""
        for method, pattern, page in self.routes:
            m = pattern.fullmatch(req.path)
            if m and method == req.method:
                return page(self, req, **m.groupdict())
        return self.render(req, "problem.html", 404, message=texts.TEXTS[req.session.lang]["page_not_found"], retry="/")


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def proxy_networks(specs: Iterable[str]) -> tuple[Network, ...]:
    """Parses ``--trusted-proxy`` values (an address or a CIDR network each); ValueError names a bad one."""
    networks = []
    for spec in specs:
        try:
            networks.append(ipaddress.ip_network(spec.strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"--trusted-proxy {spec!r}: expected an IP address or network such as 10.0.0.0/8"
            ) from None
    return tuple(networks)


def visitor_address(peer: str, forwarded_for: Sequence[str], trusted: Sequence[Network]) -> str:
    """The visitor's IP address for the gateway's per-IP limit of guest lookups.

    Behind a reverse proxy the socket's peer is the proxy, and every visitor would share one bucket. When the peer
    is a trusted proxy, ``X-Forwarded-For`` is read from the right (each proxy appends the address it saw), skipping
    trusted proxies: the first address that is not one of them is the visitor. Entries left of it were written by
    the client and are never believed. Without trusted proxies the header is ignored.

    Args:
        peer: The socket's peer address.
        forwarded_for: Every ``X-Forwarded-For`` header of the request, in order.
        trusted: The networks of the proxies in front of the storefront.
    """

    def is_trusted(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in trusted)

    if not trusted or not is_trusted(peer):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        if is_trusted(hop):
            continue
        try:
            return str(ipaddress.ip_address(hop))
        except ValueError:
            return peer  # garbled by someone: the proxy's own address is the safe answer (one shared bucket)
    return peer


class Server(ThreadingHTTPServer):
    """A threaded HTTP server carrying the :class:`App`.

    Attributes:
        trusted_proxies: Networks of reverse proxies whose ``X-Forwarded-For`` names the visitor.
    """

    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, trusted_proxies: Sequence[Network] = ()) -> None:
        self.app = app
        self.trusted_proxies = tuple(trusted_proxies)
        super().__init__(address, Handler)


class Handler(BaseHTTPRequestHandler):
    """Turns one HTTP request into a :class:`Request` for the app and writes its :class:`Response`."""

    server: Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        """Request lines go to the structured log, without the query string (it may carry a postcode)."""
        log.debug("http.request", line=self.requestline.split("?")[0].split(" HTTP")[0])

    def _dispatch(self) -> None:
        app = self.server.app
        # One id per page view: in the storefront's log lines and, as x-request-id, in the gateway's and agent's.
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=secrets.token_hex(8))
        url = urlsplit(self.path)
        form: dict[str, list[str]] = {}
        if self.command == "POST":
            length = min(int(self.headers.get("Content-Length") or 0), MAX_FORM_BYTES)
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        session = app.signer.load(cookie[COOKIE].value if COOKIE in cookie else None)
        query = parse_qs(url.query)
        if query.get("lang", [""])[0] in texts.LANGS:
            session.lang = query["lang"][0]
        forwarded = self.headers.get_all("X-Forwarded-For") or []
        client_ip = visitor_address(self.client_address[0], forwarded, self.server.trusted_proxies)
        req = Request(self.command, url.path, query, form, session, client_ip=client_ip)
        try:
            resp = app.handle(req)
        except Exception:
            # A bug must not show a stack trace to the customer; the log has it.
            log.exception("storefront.page_failed", path=url.path)
            resp = app.render(req, "problem.html", 500, message=texts.TEXTS[session.lang]["failed"], retry="/")
        self._send(resp, app.signer.dump(session))

    def _send(self, resp: Response, cookie: str) -> None:
        self.send_response(resp.status)
        for name, value in (*SECURITY_HEADERS, *resp.headers):
            self.send_header(name, value)
        self.send_header("Set-Cookie", f"{COOKIE}={cookie}; Path=/; HttpOnly; SameSite=Lax")
        self.send_header("Cache-Control", "no-store")  # account pages are personal
        self.send_header("Content-Type", resp.content_type)
        if resp.pdf is None:
            self.send_header("Content-Length", str(len(resp.body)))
            self.end_headers()
            self.wfile.write(resp.body)
            return
        self._stream_pdf(resp.pdf)

    def _stream_pdf(self, pdf: PdfDownload) -> None:
        """Passes the PDF chunks to the browser as they arrive; the ERP file never sits whole in memory."""
        name = re.sub(r"[^A-Za-z0-9._-]", "_", pdf.file_name) or "invoice.pdf"
        self.send_header("Content-Disposition", f'attachment; filename="{name}"')
        if pdf.size > 0:
            self.send_header("Content-Length", str(pdf.size))
        else:
            self.close_connection = True  # unknown length: the end of the connection ends the file
        self.end_headers()
        digest = hashlib.sha256()
        try:
            for chunk in pdf.chunks:
                digest.update(chunk)
                self.wfile.write(chunk)
        except InquiryError:
            # Headers are out: all that is left is to cut the connection, so the browser marks the download failed.
            self.close_connection = True
            return
        if pdf.sha256 and digest.hexdigest() != pdf.sha256:
            log.error("storefront.pdf_checksum_mismatch", file=name)
            self.close_connection = True

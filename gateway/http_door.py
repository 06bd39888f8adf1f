"""The HTTP door: the shop services over the Connect protocol, the invoice download and the OpenAPI document.

One ASGI application, served by :mod:`.http_server` on ``[http] listen``. It routes each request:

* ``POST`` (and, for the read-only RPCs, ``GET``) ``/onlineconnect.v1.<Service>/<Method>`` — the generated
  ``connectrpc`` applications of :mod:`.http_connect`, JSON or binary, unary or server streaming;
* ``GET /v1/customers/{customer}/orders/{order}/invoices/{document}.pdf`` — :mod:`.http_download`;
* ``GET /openapi.json`` — the document ``make generate`` wrote, without an API key;
* anything else — 404 with a Connect error (``unimplemented``).

Every request gets an :class:`~.http_exchange.Exchange` first: its request id (the caller's ``X-Request-Id`` if
well-formed, else a fresh one) is echoed on every answer, the body is read within its size and time limits before
any handler runs, and every write is timed against the call's deadline and held in the relay's memory budget.
Authentication, scopes, rate limits, the stock cache, routing to an agent and the audit trail are the relay
chain's (:mod:`.relay`), shared with the gRPC door. When the request is done the door reports the call's outcome
to the chain once (:meth:`~.relay.Relay.finished`: metrics with ``protocol="connect"``, the failure log line).
"""

from __future__ import annotations

import asyncio
from importlib import resources
from typing import Any

import grpc
import structlog
from connectrpc.code import Code

from onlineconnect._codegen import OPENAPI
from onlineconnect.calls import BY_PATH, CALLS
from onlineconnect.errors import OnlineConnectError

from . import http_download
from .config import GatewayConfig
from .http_connect import connect_apps
from .http_errors import BY_HTTP_STATUS, error_answer, error_json
from .http_exchange import BodyRefused, Exchange, Gone, Header, NotReading, Receive, Send
from .live import LiveConfig
from .relay import MAX_SHOP_REQUEST_BYTES, Relay, ShopCall, request_id_from

log = structlog.get_logger("onlineconnect.gateway.http_door")

ENVELOPE_PREFIX = 5  # a Connect streaming request carries its one message behind a 5-byte prefix
_GRPC_TYPES = ("application/grpc",)  # application/grpc, application/grpc+proto, application/grpc-web…
_STREAM_TYPES = ("application/connect+json", "application/connect+proto")
_STREAM_ACCEPT = ", ".join(_STREAM_TYPES).encode()


class HttpDoor:
    """The ASGI application of the HTTP listener.

    Args:
        live: The gateway's running configuration (deadlines; ``[http]`` read timeout), read at every request, so a
            reload's new default deadline applies to this door as to the gRPC one.
        relay: The relay chain both doors share.
    """

    def __init__(self, live: LiveConfig, relay: Relay) -> None:
        self._live = live
        self.relay = relay
        self.routes = connect_apps(relay)
        self.document = resources.files("onlineconnect.v1").joinpath(OPENAPI).read_bytes()
        self.streaming = {c.path for c in CALLS if c.streaming}

    @property
    def config(self) -> GatewayConfig:
        """The running configuration."""
        return self._live.current

    @property
    def read_timeout(self) -> float:
        """Seconds a client has to send a request's body (``[http] read_timeout_seconds``)."""
        http = self.config.http
        return http.read_timeout if http is not None else 10.0

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return  # websockets: not offered; returning closes the connection
        loop = asyncio.get_running_loop()
        headers = [(bytes(k).decode("latin-1").lower(), bytes(v).decode("latin-1")) for k, v in scope["headers"]]
        request_id = request_id_from(headers)
        metadata = [Header(k, v) for k, v in headers if k != "x-request-id"]
        metadata.append(Header("x-request-id", request_id))
        client = scope.get("client")
        state = scope.get("state") or {}
        ex = Exchange(
            relay=self.relay,
            request_id=request_id,
            metadata=metadata,
            peer=f"{client[0]}:{client[1]}" if client else "",
            default_deadline=loop.time() + self.config.default_deadline,
            abort=state.get("onlineconnect.abort"),
            http_version=str(scope.get("http_version", "1.1")),
        )
        if state.get("onlineconnect.too_old", lambda: False)():
            ex.close_after()  # past the connection's maximum age: this is its last answer (HTTP/1.1)
        token = ex.activate()
        unfollow = ex.follow(state.get("onlineconnect.closed"))
        try:
            await self._route(ex, scope, headers, receive, send)
        except (NotReading, Gone, BodyRefused):
            pass  # answered or dropped, and recorded on the exchange
        finally:
            unfollow()
            ex.deactivate(token)
            self._report(ex, scope["path"])

    async def _route(
        self, ex: Exchange, scope: dict[str, Any], headers: list[tuple[str, str]], receive: Receive, send: Send
    ) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        app = self.routes.get(path)
        if app is not None:
            content_type = next((v for k, v in headers if k == "content-type"), "")
            media_type = content_type.split(";", 1)[0].strip().lower()
            streaming = path in self.streaming
            if media_type.startswith(_GRPC_TYPES):
                message = "this listener speaks the Connect protocol; send gRPC to the gateway's gRPC port"
                await ex.respond(send, 415, error_json(Code.UNIMPLEMENTED, message))
                return
            if streaming and method != "POST":
                # The Connect protocol allows GET for unary RPCs only; a stream is always a POST.
                message = f"{path} is a server-streaming RPC: send it as POST"
                await ex.respond(send, 405, error_json(Code.UNIMPLEMENTED, message), headers=[(b"allow", b"POST")])
                return
            if streaming and media_type not in _STREAM_TYPES:
                # connectrpc would name the unary types, which this RPC refuses.
                message = f"{path} is a server-streaming RPC: send Content-Type application/connect+json or +proto"
                await ex.respond(
                    send, 415, error_json(Code.UNIMPLEMENTED, message), headers=[(b"accept-post", _STREAM_ACCEPT)]
                )
                return
            declared = next((v for k, v in headers if k == "content-length"), None)
            body = await ex.read_body(
                receive,
                send,
                max_body=MAX_SHOP_REQUEST_BYTES + (ENVELOPE_PREFIX if path in self.streaming else 0),
                read_timeout=self.read_timeout,
                declared=int(declared) if declared and declared.isdigit() else None,
            )
            if not await self._authenticated(ex, path, send):
                return

            async def timed_send(message: dict[str, Any]) -> None:
                await ex.send(send, message)

            await app(scope, ex.replay(body, receive), timed_send)
        elif http_download.PATH.match(path):
            if method != "GET":
                await ex.respond(
                    send, 405, error_json(Code.UNIMPLEMENTED, "downloads are GET only"), headers=[(b"allow", b"GET")]
                )
                return
            async with ex.watching(receive):
                await http_download.download(self.relay, ex, path, send)
        elif path == "/openapi.json" and method == "GET":
            await ex.respond(send, 200, self.document, headers=[(b"cache-control", b"public, max-age=300")])
        else:
            # Connect clients read an unknown procedure as "unimplemented"; anything else is simply not there.
            code = Code.UNIMPLEMENTED if path.startswith("/onlineconnect.") else Code.NOT_FOUND
            message = f"no RPC or download at {path}; the API is described at /openapi.json"
            await ex.respond(send, 404, error_json(code, message))

    async def _authenticated(self, ex: Exchange, path: str, send: Send) -> bool:
        """Checks the shop key before connectrpc decodes the body, so that a call without a valid key is refused
        401 (or 403) whatever its body, as on the gRPC door; False if the refusal has been written."""
        sc = ShopCall(call=BY_PATH[path], payload=b"", metadata=ex.metadata, timeout=None, protocol="connect")
        try:
            self.relay.authenticate(sc)
        except OnlineConnectError as exc:
            sc.peer, ex.sc = ex.peer, sc
            ex.ended(exc.code, exc.message)
            status, body, extra = error_answer(exc)
            await ex.respond(send, status, body, headers=extra)
            return False
        return True

    def _report(self, ex: Exchange, path: str) -> None:
        """Reports the call's outcome to the chain (metrics, failure log) once.

        A request that connectrpc refused before any handler ran (malformed JSON, a wrong content type) never
        became a call on the chain; it is reported as one that failed before its key was known, as the gRPC door
        reports an undecodable request.
        """
        sc = ex.sc
        if sc is None:
            call = BY_PATH.get(path)
            if call is None or not ex.status:
                return
            sc = ShopCall(call=call, payload=b"", metadata=ex.metadata, timeout=None, protocol="connect", peer=ex.peer)
        code = ex.code
        if code is None:  # connectrpc answered without a handler reporting: a refusal, a timeout, a disconnect
            code = BY_HTTP_STATUS.get(ex.status, grpc.StatusCode.UNKNOWN) if ex.status else grpc.StatusCode.CANCELLED
        self.relay.finished(sc, code, ex.message)


async def _lifespan(receive: Receive, send: Send) -> None:
    """Answers the ASGI lifespan protocol (nothing to set up: the gateway owns the relay's life cycle)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

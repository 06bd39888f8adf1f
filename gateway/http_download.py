"""Invoice PDFs as a plain HTTP download, for shops that hand the bytes straight to the browser.

``GET /v1/customers/{customer_number}/orders/{order_number}/invoices/{document_id}.pdf`` is
``OrderService.GetInvoicePdf`` on the same relay chain, answered as one ``application/pdf`` body: the first
chunk's metadata becomes ``Content-Length`` and ``Content-Disposition`` (the ERP's file name), and every chunk is
written as it arrives, held in the memory budget only while it is being written — the gateway never holds the
whole file. An error before the first chunk is a Connect-style JSON answer with its HTTP status; an error after
it ends the transfer early, so the shop sees fewer bytes than ``Content-Length`` announced.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

import grpc
import structlog

from onlineconnect.calls import BY_METHOD
from onlineconnect.errors import InvalidArgument, OnlineConnectError
from onlineconnect.v1 import orders_pb2

from .http_errors import error_answer
from .http_exchange import Exchange, Header, Send
from .relay import Relay, ShopCall

log = structlog.get_logger("onlineconnect.gateway.http_download")

PATH = re.compile(r"^/v1/customers/([^/]+)/orders/([^/]+)/invoices/([^/]+)\.pdf$")
CALL = BY_METHOD["GetInvoicePdf"]
_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()+-]")


def content_disposition(file_name: str, fallback: str) -> bytes:
    """``attachment`` with the file name as plain ASCII and, for any other character, RFC 6266 ``filename*``."""
    name = file_name.strip().replace("/", "_").replace("\\", "_") or fallback
    ascii_name = _UNSAFE.sub("_", name)
    value = f'attachment; filename="{ascii_name}"'
    if ascii_name != name:
        value += f"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"
    return value.encode("ascii")


def timeout_from(headers: list[Header]) -> float | None:
    """``Connect-Timeout-Ms`` in seconds, or None if absent.

    Raises:
        InvalidArgument: the header is not 1 to 10 digits.
    """
    for name, value in headers:
        if name == "connect-timeout-ms":
            if not (value.isascii() and value.isdigit() and len(value) <= 10):
                raise InvalidArgument(f"Connect-Timeout-Ms must be 1 to 10 digits, got {value[:20]!r}")
            return int(value) / 1000
    return None


async def download(relay: Relay, ex: Exchange, path: str, send: Send) -> None:
    """Answers one invoice download: the PDF, or a JSON error.

    Args:
        relay: The relay chain.
        ex: The request's exchange (headers, request id; takes the ShopCall and the outcome).
        path: The request path, already matched by :data:`PATH`.
        send: The server's send callable.
    """
    match = PATH.match(path)
    assert match is not None
    customer, order, document = (urllib.parse.unquote(g) for g in match.groups())
    request = orders_pb2.GetInvoicePdfRequest(customer_number=customer, order_number=order, document_id=document)
    parts: Any = None
    try:
        sc = ex.sc = ShopCall(
            call=CALL,
            payload=request.SerializeToString(),
            metadata=ex.metadata,
            timeout=timeout_from(ex.metadata),
            protocol="connect",
            peer=ex.peer,
        )
        parts = relay.stream(sc)
        first = orders_pb2.GetInvoicePdfResponse.FromString(await anext(parts))
    except StopAsyncIteration:
        first = orders_pb2.GetInvoicePdfResponse()
    except OnlineConnectError as exc:
        if parts is not None:
            await parts.aclose()
        ex.ended(exc.code, exc.message)
        status, body, headers = error_answer(exc)
        await ex.respond(send, status, body, headers=headers)
        return
    headers = [
        (b"content-type", b"application/pdf"),
        (b"content-disposition", content_disposition(first.file_name, f"{document}.pdf")),
        (b"cache-control", sc.cache_control.encode()),
        (b"x-content-type-options", b"nosniff"),
    ]
    if first.size > 0:
        headers.append((b"content-length", str(first.size).encode()))
    try:
        await ex.send(send, {"type": "http.response.start", "status": 200, "headers": headers})
        await ex.send(send, {"type": "http.response.body", "body": first.data, "more_body": True})
        sent = len(first.data)
        async for part in parts:
            data = orders_pb2.GetInvoicePdfResponse.FromString(part).data
            sent += len(data)
            await ex.send(send, {"type": "http.response.body", "body": data, "more_body": True})
        if first.size > 0 and sent != first.size:
            # Ending normally would let a short file pass for a whole one: leave the body unfinished instead.
            ex.ended(grpc.StatusCode.DATA_LOSS, f"the agent sent {sent} of {first.size} bytes")
            return
        await ex.send(send, {"type": "http.response.body", "body": b"", "more_body": False})
        ex.ended(grpc.StatusCode.OK)
    except OnlineConnectError as exc:
        # The head is out: the only way left to say "failed" is to end the body short (the connection closes).
        ex.ended(exc.code, exc.message)
        log.info("download.broken_off", request_id=ex.request_id, code=exc.code.name, message=exc.message)
    finally:
        await parts.aclose()

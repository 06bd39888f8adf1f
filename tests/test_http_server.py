"""The HTTP listener: TLS with the gRPC port's certificate, HTTP/2, plaintext only on loopback, bounded clients."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from support.http_stack import HttpStack, http_relay

from onlineconnect.calls import BY_METHOD
from onlineconnect.errors import ConfigError
from onlineconnect.gateway.config import HttpConfig, parse_gateway_config
from onlineconnect.testing.fakes import FakeHandlers

GET_ORDER = BY_METHOD["GetOrder"].path
ORDER = {"customer_number": "4711", "order_number": "091782005"}
COMMITTED_DOCUMENT = (Path(__file__).resolve().parent.parent / "onlineconnect" / "v1" / "openapi.json").read_bytes()
BASE_TOML = """
[server]
listen = "127.0.0.1:50051"
{server}
[tenants.demo]
keys = {{ 1 = "00112233445566778899aabbccddeeff" }}
[http]
{http}
"""


def parse(server: str, http: str) -> object:
    """Parses a gateway config with the given [server] extras and [http] table."""
    import tomllib

    text = BASE_TOML.format(server=server, http=http)
    return parse_gateway_config(tomllib.loads(text), source="gateway.toml")


def test_plaintext_is_refused_on_a_non_loopback_address() -> None:
    """[http] without TLS on a public address stops the start with an error naming file and key."""
    with pytest.raises(ConfigError, match=r"gateway.toml: http.insecure: plaintext is only allowed on a loopback"):
        parse("insecure = true", 'listen = "0.0.0.0:8081"')


def test_tls_needs_the_servers_certificate() -> None:
    """[http] with insecure = false needs server.tls_cert and tls_key; a typo in [http] is named."""
    with pytest.raises(ConfigError, match=r"http.insecure: TLS needs server.tls_cert"):
        parse("insecure = true", 'listen = "127.0.0.1:8081"\ninsecure = false')
    with pytest.raises(ConfigError, match=r"gateway.toml: http.lisen: unknown key"):
        parse("insecure = true", 'listen = "127.0.0.1:8081"\nlisen = "127.0.0.1:8082"')
    config = parse("insecure = true", 'listen = "127.0.0.1:8081"')
    assert config.http == HttpConfig(listen="127.0.0.1:8081", insecure=True)  # type: ignore[attr-defined]


async def test_tls_uses_the_grpc_ports_certificate_and_offers_http2(tmp_path: Path) -> None:
    """With TLS the HTTP listener presents the gRPC port's certificate and negotiates HTTP/2 by ALPN."""
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = tmp_path / "gw.crt", tmp_path / "gw.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    async with http_relay(
        FakeHandlers(),
        start_agent=False,
        http=HttpConfig(listen="127.0.0.1:0", insecure=False),
        insecure=False,
        tls_cert=cert,
        tls_key=key,
    ) as stack:
        context = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
        async with httpx.AsyncClient(base_url=stack.base_url, verify=context, http2=True, timeout=10) as http:
            r = await http.post(GET_ORDER, json=ORDER, headers=stack.auth)
        grpc_port = stack.relay.address.rsplit(":", 1)[1]
        http_cert = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", stack.gateway.http_port))
        grpc_cert = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", int(grpc_port)))
    assert stack.base_url.startswith("https://")
    assert r.http_version == "HTTP/2"
    assert r.status_code == 503  # no agent connected: the call went through TLS and the relay chain
    assert r.json()["code"] == "unavailable"
    assert ssl.PEM_cert_to_DER_cert(http_cert) == ssl.PEM_cert_to_DER_cert(grpc_cert)


async def test_http2_with_prior_knowledge_serves_unary_and_download() -> None:
    """Over plaintext HTTP/2 (prior knowledge) unary calls and the PDF download work as over HTTP/1.1."""
    handlers = FakeHandlers()
    async with (
        http_relay(handlers) as stack,
        httpx.AsyncClient(base_url=stack.base_url, http1=False, http2=True, timeout=10) as http,
    ):
        order, pdf = await asyncio.gather(
            http.post(GET_ORDER, json=ORDER, headers=stack.auth),
            http.get("/v1/customers/4711/orders/091782005/invoices/INV-1.pdf", headers=stack.auth),
        )
    assert order.http_version == pdf.http_version == "HTTP/2"
    assert order.json()["order"]["summary"]["order_number"] == "091782005"
    assert pdf.content == handlers.pdf


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    async with asyncio.timeout(10):
        try:
            while chunk := await reader.read(65536):
                data += chunk
        except ConnectionResetError:
            pass
    return data


async def test_a_slow_request_body_is_answered_408_and_dropped() -> None:
    """A client that sends the head but trickles the body gets 408 and its connection closed."""
    async with http_relay(FakeHandlers(), http=HttpConfig(listen="127.0.0.1:0", insecure=True, read_timeout=0.3)) as s:
        reader, writer = await asyncio.open_connection("127.0.0.1", s.gateway.http_port)
        writer.write(
            f"POST {GET_ORDER} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\nAuthorization: Bearer x\r\n\r\n{".encode()
        )
        await writer.drain()
        answer = await read_until_closed(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"deadline_exceeded"' in answer


async def test_a_slowloris_head_is_dropped() -> None:
    """A client that sends its request head a byte at a time is disconnected after the keep-alive time."""
    async with http_relay(FakeHandlers(), http=HttpConfig(listen="127.0.0.1:0", insecure=True, keep_alive=0.3)) as s:
        reader, writer = await asyncio.open_connection("127.0.0.1", s.gateway.http_port)
        closed = False
        async with asyncio.timeout(10):
            for byte in b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000:
                try:
                    writer.write(bytes([byte]))
                    await writer.drain()
                except ConnectionError:
                    closed = True
                    break
                if reader.at_eof() or (await asyncio.wait([asyncio.ensure_future(reader.read(1))], timeout=0.05))[0]:
                    closed = True
                    break
        writer.close()
    assert closed


async def test_a_shop_that_does_not_read_is_dropped_by_the_deadline() -> None:
    """A download the client never reads ends at its deadline: DEADLINE_EXCEEDED and the connection reset."""
    handlers = FakeHandlers(pdf_size=8 * 1024 * 1024)
    async with http_relay(handlers) as stack:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", stack.gateway.http_port))
        sock.setblocking(False)
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            b"GET /v1/customers/4711/orders/091782005/invoices/INV-1.pdf HTTP/1.1\r\nHost: x\r\n"
            b"Connect-Timeout-Ms: 500\r\nAuthorization: Bearer test-shop-key\r\n\r\n"
        )
        await writer.drain()
        async with asyncio.timeout(15):
            while "DEADLINE_EXCEEDED" not in requests_line(stack, "GetInvoicePdf"):
                await asyncio.sleep(0.05)
        received = await read_until_closed(reader)
        writer.close()
    assert received.startswith(b"HTTP/1.1 200 ")
    assert len(received) < len(handlers.pdf)


def requests_line(stack: HttpStack, rpc: str) -> str:
    """The request counter lines of ``rpc`` on the HTTP door."""
    text = stack.gateway.metrics.render().decode()
    return "\n".join(
        line
        for line in text.splitlines()
        if line.startswith("onlineconnect_gateway_requests_total{") and rpc in line and 'protocol="connect"' in line
    )


async def test_openapi_document_is_served_without_a_key() -> None:
    """GET /openapi.json answers the committed document without an API key."""
    async with http_relay(FakeHandlers(), start_agent=False) as stack, stack.client() as http:
        r = await http.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert json.loads(r.content) == json.loads(COMMITTED_DOCUMENT)


async def test_connections_send_small_writes_at_once() -> None:
    """Accepted connections have TCP_NODELAY, so an answer's head, body and end never wait for a delayed ACK."""
    async with http_relay(FakeHandlers(), start_agent=False) as stack, stack.client() as http:
        await http.get("/openapi.json")  # the keep-alive connection stays open
        sockets = [t.get_extra_info("socket") for t in stack.gateway.http._connections.values()]  # type: ignore[union-attr]
        assert sockets
        assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1 for s in sockets)


async def test_tls_http1_clients_are_served_too(tmp_path: Path) -> None:
    """With TLS a client that offers only HTTP/1.1 by ALPN is answered over HTTP/1.1 with a Date header."""
    ca = trustme.CA()
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    cert, key = tmp_path / "gw.crt", tmp_path / "gw.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    async with http_relay(
        FakeHandlers(),
        start_agent=False,
        http=HttpConfig(listen="127.0.0.1:0", insecure=False),
        insecure=False,
        tls_cert=cert,
        tls_key=key,
    ) as stack:
        context = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
        async with httpx.AsyncClient(base_url=stack.base_url, verify=context, http2=False, timeout=10) as http:
            r = await http.post(GET_ORDER, json=ORDER, headers=stack.auth)
            document = await http.get("/openapi.json")
    assert r.http_version == document.http_version == "HTTP/1.1"
    assert r.status_code == 503  # no agent connected: the call went through TLS and the relay chain
    assert r.json()["code"] == "unavailable"
    assert json.loads(document.content) == json.loads(COMMITTED_DOCUMENT)
    assert "GMT" in r.headers["date"]


async def test_http1_and_http2_clients_share_the_plaintext_port() -> None:
    """On one plaintext port an HTTP/1.1 client and an HTTP/2 prior-knowledge client get the same answer."""
    async with http_relay(FakeHandlers()) as stack:
        async with stack.client() as one, stack.client(http1=False, http2=True) as two:
            a, b = await asyncio.gather(
                one.post(GET_ORDER, json=ORDER, headers=stack.auth), two.post(GET_ORDER, json=ORDER, headers=stack.auth)
            )
    assert (a.http_version, b.http_version) == ("HTTP/1.1", "HTTP/2")
    assert a.status_code == b.status_code == 200
    assert a.json() == b.json()
    assert a.headers["x-request-id"] and b.headers["x-request-id"]


async def test_an_oversized_http1_head_is_refused_431() -> None:
    """A request head over 16 KiB is answered 431 with a Connect error and the connection closed."""
    async with http_relay(FakeHandlers(), start_agent=False) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.http_port)
        writer.write(f"GET /openapi.json HTTP/1.1\r\nHost: x\r\nX-Big: {'a' * 20_000}\r\n\r\n".encode())
        await writer.drain()
        answer = await read_until_closed(reader)
        writer.close()
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"invalid_argument"' in answer


async def test_an_h2c_upgrade_request_is_answered_over_http1() -> None:
    """An HTTP/1.1 request asking to upgrade to h2c is answered over HTTP/1.1, the upgrade ignored."""
    async with http_relay(FakeHandlers(), start_agent=False) as stack:
        reader, writer = await asyncio.open_connection("127.0.0.1", stack.gateway.http_port)
        writer.write(
            b"GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
            b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
        )
        await writer.drain()
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
    assert head.startswith(b"HTTP/1.1 200 ")


async def h2_request(
    port: int, headers: list[tuple[str, str]], body: bytes | None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Any]:
    """Sends one request on a new plaintext HTTP/2 connection (prior knowledge); returns the connection and its
    h2 state machine. Reads nothing back, so the server's window for the answer stays at 64 KiB."""
    import h2.config
    import h2.connection

    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    base = [(":scheme", "http"), (":authority", "127.0.0.1"), ("authorization", "Bearer test-shop-key")]
    pseudo_first = sorted([*headers, *base], key=lambda h: not h[0].startswith(":"))
    conn.send_headers(1, pseudo_first, end_stream=body is None)
    if body is not None:
        conn.send_data(1, body, end_stream=True)
    writer.write(conn.data_to_send())
    await writer.drain()
    return reader, writer, conn


async def test_a_shop_that_closes_its_http2_connection_is_cancelled_not_timed_out() -> None:
    """An HTTP/2 client that goes away before its answer leaves no write pending until the deadline: the call ends
    CANCELLED (as on the gRPC port), not DEADLINE_EXCEEDED with a warning about a shop that does not read."""
    handlers = FakeHandlers()
    handlers.slow_seconds = 0.3
    async with http_relay(handlers) as stack:
        body = json.dumps({"customer_number": "4711", "order_number": "SLOW"}).encode()
        headers = [(":method", "POST"), (":path", GET_ORDER), ("content-type", "application/json")]
        _, writer, _ = await h2_request(stack.gateway.http_port, [*headers, ("connect-timeout-ms", "3000")], body)
        await handlers.started.wait()
        writer.transport.abort()  # gone before the agent answers
        async with asyncio.timeout(20):
            while 'rpc="GetOrder"' not in requests_line(stack, "GetOrder"):
                await asyncio.sleep(0.05)
        lines = requests_line(stack, "GetOrder")
        metrics = stack.gateway.metrics.render().decode()
    assert 'code="CANCELLED"' in lines, lines
    assert "DEADLINE_EXCEEDED" not in lines, lines
    assert not [m for m in metrics.splitlines() if m.startswith("onlineconnect_gateway_shop_not_reading_total{")]


async def test_a_download_whose_http2_stream_is_reset_is_cancelled() -> None:
    """A PDF download stalled by HTTP/2 flow control (the client reads nothing) ends CANCELLED as soon as the
    client resets the stream (RST_STREAM, the connection stays open), not at the deadline."""
    handlers = FakeHandlers(pdf_size=4 * 1024 * 1024)
    async with http_relay(handlers) as stack:
        path = "/v1/customers/4711/orders/091782005/invoices/INV-1.pdf"
        headers = [(":method", "GET"), (":path", path), ("connect-timeout-ms", "3000")]
        reader, writer, conn = await h2_request(stack.gateway.http_port, headers, None)
        import h2.events

        answered = False
        while not answered:  # the answer's head: the download runs, and its first 64 KiB fill the window
            events = conn.receive_data(await reader.read(65536))
            answered = any(isinstance(e, h2.events.ResponseReceived) for e in events)
        conn.reset_stream(1)  # the connection stays: the server learns of it only as the stream's ASGI disconnect
        writer.write(conn.data_to_send())
        async with asyncio.timeout(20):
            while 'rpc="GetInvoicePdf"' not in requests_line(stack, "GetInvoicePdf"):
                await asyncio.sleep(0.05)
        lines = requests_line(stack, "GetInvoicePdf")
        writer.close()
    assert 'code="CANCELLED"' in lines, lines

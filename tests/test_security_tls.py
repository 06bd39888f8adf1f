"""TLS for shops and agents, mutual TLS with the agent's identity from its certificate, plaintext only on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import trustme

from onlineconnect.agent.connector import Connector
from onlineconnect.agent.session import HandshakeError, TunnelSession
from onlineconnect.errors import ConfigError
from onlineconnect.gateway.config import GatewayConfig, parse_gateway_config
from onlineconnect.gateway.server import GatewayServer
from onlineconnect.testing import AGENT_TOKEN, SHOP_KEY, gateway_config, sha
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

SHOP_AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
KEY = bytes(range(16))


@pytest.fixture
def ca() -> trustme.CA:
    """A throw-away certificate authority."""
    return trustme.CA()


def write_pair(ca: trustme.CA, folder: Path, name: str, *identities: str, common_name: str | None = None) -> tuple:
    """Issues a certificate and writes (cert, key) PEM files."""
    leaf = ca.issue_cert(*identities, common_name=common_name)
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    cert.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    key.write_bytes(leaf.private_key_pem.bytes())
    return cert, key


async def start_gateway(ca: trustme.CA, tmp_path: Path, *, mtls: bool = False) -> GatewayServer:
    """A TLS gateway on localhost; with ``mtls`` agents use a second port that demands a client certificate, and
    the agent token needs one naming "erp-1"."""
    cert, key = write_pair(ca, tmp_path, "gateway", "localhost", "127.0.0.1")
    client_ca = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(client_ca))
    base = gateway_config(
        tenants={"demo": {1: KEY}}, shops=[("shop", "demo", SHOP_KEY)], agents=[("erp-1", AGENT_TOKEN, ["demo"])]
    )
    agents = base.agents
    if mtls:
        agents = {h: dataclasses.replace(a, client_cert_name="erp-1") for h, a in agents.items()}
    config = dataclasses.replace(
        base,
        insecure=False,
        tls_cert=cert,
        tls_key=key,
        client_ca=client_ca if mtls else None,
        agent_listen="127.0.0.1:0" if mtls else None,
        agents=agents,
    )
    server = GatewayServer(config)
    await server.start()
    return server


def client_creds(ca: trustme.CA, cert: Path | None = None, key: Path | None = None) -> grpc.ChannelCredentials:
    """Channel credentials trusting ``ca``, optionally with a client certificate."""
    return grpc.ssl_channel_credentials(
        root_certificates=ca.cert_pem.bytes(),
        private_key=key.read_bytes() if key else None,
        certificate_chain=cert.read_bytes() if cert else None,
    )


async def open_tunnel(address: str, creds: grpc.ChannelCredentials) -> str:
    """Runs one agent session; returns "ok" once the tunnel is ready, else the refusal."""
    session = TunnelSession(
        tenant="demo", agent_id="erp-1", token=AGENT_TOKEN, key_id=1, key=KEY, handlers=FakeHandlers()
    )
    channel = grpc.aio.secure_channel(address, creds)
    task = asyncio.create_task(session.run(channel))
    ready = asyncio.create_task(session.ready.wait())
    try:
        await asyncio.wait([task, ready], timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if session.ready.is_set():
            return "ok"
        try:
            return await task
        except HandshakeError as exc:
            return str(exc)
        except grpc.aio.AioRpcError as exc:
            return exc.code().name
    finally:
        task.cancel()
        ready.cancel()
        await asyncio.gather(task, ready, return_exceptions=True)
        await channel.close()


@pytest.fixture
async def tls_gateway(ca: trustme.CA, tmp_path: Path) -> AsyncIterator[GatewayServer]:
    """A TLS gateway with an agent connected over TLS."""
    server = await start_gateway(ca, tmp_path)
    address = f"localhost:{server.port}"

    def make() -> TunnelSession:
        return TunnelSession(
            tenant="demo", agent_id="erp-1", token=AGENT_TOKEN, key_id=1, key=KEY, handlers=FakeHandlers()
        )

    conn = Connector(address, make, credentials=client_creds(ca), initial_backoff=0.05, max_backoff=0.2)
    task = asyncio.create_task(conn.run())
    try:
        async with asyncio.timeout(10):
            while not server.registry.tunnels("demo"):
                await asyncio.sleep(0.02)
        yield server
    finally:
        conn.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop(0)


async def test_shop_and_agent_talk_tls_with_verification(ca: trustme.CA, tls_gateway: GatewayServer) -> None:
    """A shop trusting the relay's CA gets answers over TLS from an agent that itself connected over TLS."""
    async with grpc.aio.secure_channel(f"localhost:{tls_gateway.port}", client_creds(ca)) as ch:
        resp = await orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"), metadata=SHOP_AUTH, timeout=5
        )
    assert resp.order.summary.order_number == "091782005"


async def test_untrusted_certificate_and_plaintext_are_refused(tls_gateway: GatewayServer) -> None:
    """A client that does not trust the relay's CA, or speaks plaintext, gets no answer."""
    other = trustme.CA()
    for channel in (
        grpc.aio.secure_channel(f"localhost:{tls_gateway.port}", client_creds(other)),
        grpc.aio.insecure_channel(f"localhost:{tls_gateway.port}"),
    ):
        async with channel as ch:
            with pytest.raises(grpc.aio.AioRpcError) as e:
                await orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
                    orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
                    metadata=SHOP_AUTH,
                    timeout=5,
                )
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mutual_tls_takes_the_agent_identity_from_its_certificate(ca: trustme.CA, tmp_path: Path) -> None:
    """With client_cert_name set, the token opens a tunnel only with a certificate naming that agent."""
    server = await start_gateway(ca, tmp_path, mtls=True)
    address = f"localhost:{server.agent_port}"
    try:
        good = write_pair(ca, tmp_path, "erp-1", "erp-1.agents.example", common_name="erp-1")
        san_only = write_pair(ca, tmp_path, "erp-1-san", "erp-1")
        other = write_pair(ca, tmp_path, "erp-2", "erp-2.agents.example", common_name="erp-2")
        foreign = write_pair(trustme.CA(), tmp_path, "forged", "erp-1", common_name="erp-1")
        assert await open_tunnel(address, client_creds(ca, *good)) == "ok"
        assert await open_tunnel(address, client_creds(ca, *san_only)) == "ok"
        assert "PERMISSION_DENIED" in await open_tunnel(address, client_creds(ca, *other))
        assert "ok" != await open_tunnel(address, client_creds(ca))  # the agent port demands a certificate
        assert "ok" != await open_tunnel(address, client_creds(ca, *foreign))
        # On the shop port no certificate is asked for: the token alone is not enough for this agent.
        assert "UNAUTHENTICATED" in await open_tunnel(f"localhost:{server.port}", client_creds(ca, *good))
    finally:
        await server.stop(0)


def validated_gateway(server: dict[str, Any], agents: list[dict[str, Any]] | None = None) -> GatewayConfig:
    """Validates a gateway configuration with one tenant."""
    data = {"server": server, "tenants": {"demo": {"keys": {"1": KEY.hex()}}}, "agents": agents or []}
    return parse_gateway_config(data, source="gateway.toml")


def test_plaintext_is_refused_unless_on_loopback() -> None:
    """insecure = true is accepted on 127.0.0.1, ::1 and localhost, refused on any other address."""
    for host in ("127.0.0.1:1", "[::1]:1", "localhost:1"):
        assert validated_gateway({"listen": host, "insecure": True}).insecure
    with pytest.raises(ConfigError, match="loopback"):
        validated_gateway({"listen": "0.0.0.0:50051", "insecure": True})
    with pytest.raises(ConfigError, match="tls_cert"):
        validated_gateway({"listen": "0.0.0.0:50051"})


def test_client_cert_name_needs_a_client_ca() -> None:
    """An agent credential that names a certificate is refused when the gateway verifies no client certificates."""
    agent = {"name": "erp-1", "token_sha256": sha("t"), "tenants": ["demo"], "client_cert_name": "erp-1"}
    with pytest.raises(ConfigError, match="client_ca"):
        validated_gateway({"listen": "127.0.0.1:1", "insecure": True}, [agent])


def test_agent_plaintext_only_to_a_loopback_gateway(tmp_path: Path) -> None:
    """The agent refuses insecure = true towards a gateway that is not on loopback."""
    from onlineconnect.agent.config import parse_agent_config

    def data(gateway: str) -> dict[str, Any]:
        agent = {"id": "a", "gateway": gateway, "insecure": True, "token": "x", "tenant": "demo", "key": KEY.hex()}
        return {"agent": agent, "database": {"url": "sqlite://"}, "orders": {"archive_root": str(tmp_path)}}

    assert parse_agent_config(data("127.0.0.1:50051"), source="agent.toml", base_dir=tmp_path).insecure
    with pytest.raises(ConfigError, match="loopback"):
        parse_agent_config(data("relay.example.com:443"), source="agent.toml", base_dir=tmp_path)

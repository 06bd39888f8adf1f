"""The agent through a real HTTP proxy (tinyproxy with Basic auth): TLS end to end inside CONNECT, named failures."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from support.proxy_stack import (
    PROXY_PASSWORD,
    TinyProxy,
    TlsGateway,
    clean_env,
    have_tinyproxy,
    start_tls_gateway,
    write_tls_agent_config,
)

from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.testing import need_service
from onlineconnect.testing.processes import SHOP_KEY, Proc, free_port, start
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc


@pytest.fixture
def erp(tmp_path: Path) -> Path:
    """The demo ERP."""
    folder = tmp_path / "erp"
    create_demo_erp(folder / "erp.db", folder / "archive")
    return folder


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[TinyProxy]:
    """A running tinyproxy requiring Basic auth."""
    need_service(have_tinyproxy(), "tinyproxy is not installed (apt-get install tinyproxy)")
    folder = tmp_path / "proxy"
    folder.mkdir()
    p = TinyProxy(folder, free_port())
    p.start()
    yield p
    p.stop()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[TlsGateway]:
    """A TLS gateway process on loopback."""
    gw = start_tls_gateway(tmp_path / "gw", trustme.CA())
    yield gw
    gw.proc.stop()


def get_order(gw: TlsGateway) -> orders_pb2.GetOrderResponse:
    with gw.channel() as ch:
        return orders_pb2_grpc.OrderServiceStub(ch).GetOrder(
            orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
            metadata=(("authorization", f"Bearer {SHOP_KEY}"),),
            timeout=5,
        )


def wait_status(folder: Path, predicate: object, timeout: float = 20) -> dict[str, object]:
    """Waits until the agent's status file satisfies ``predicate``; returns it."""
    path = folder / "agent-status.json"
    deadline = time.monotonic() + timeout
    last: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            last = json.loads(path.read_text())
            if predicate(last):  # type: ignore[operator]
                return last
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"status never matched; last: {last}")


def detail(status: dict[str, object]) -> str:
    return " ".join(str(v) for v in dict(status.get("tunnel_detail", {})).values())  # type: ignore[call-overload]


def start_agent(folder: Path, gw: TlsGateway, erp: Path, agent_lines: str = "", **env: str) -> Proc:
    config = write_tls_agent_config(folder, gw.address, gw.ca_file, erp, agent_lines=agent_lines)
    return start("onlineconnect-agent", ["--config", str(config)], folder, env=clean_env(**env))


def test_tunnel_comes_up_through_the_proxy_and_calls_are_answered(
    tmp_path: Path, erp: Path, proxy: TinyProxy, gateway: TlsGateway
) -> None:
    """With agent.proxy and Basic auth the tunnel runs TLS through the proxy's CONNECT and a shop's call is answered."""
    agent = start_agent(tmp_path, gateway, erp, f'proxy = "{proxy.url()}"')
    try:
        gateway.wait_serving()
        assert get_order(gateway).order.summary.order_number == "091782005"
        assert any(f"CONNECT {gateway.address}" in line for line in proxy.connects()), proxy.connects()
        assert PROXY_PASSWORD not in agent.log.read_text()
    finally:
        assert agent.stop() == 0


def test_wrong_proxy_password_is_named_as_407_and_retried(
    tmp_path: Path, erp: Path, proxy: TinyProxy, gateway: TlsGateway
) -> None:
    """A wrong proxy password is named as a proxy authentication failure with the proxy's status (tinyproxy answers
    401 to wrong credentials, 407 to none) in log and status file, and the agent keeps retrying."""
    (tmp_path / "proxy-password").write_text("wrong-password\n")
    lines = f'proxy = "http://ocproxy@127.0.0.1:{proxy.port}"\nproxy_password = "file:proxy-password"'
    agent = start_agent(tmp_path, gateway, erp, lines)
    try:
        status = wait_status(tmp_path, lambda s: "authentication failed" in detail(s))
        assert f"proxy 127.0.0.1:{proxy.port} answered 401" in detail(status)
        assert "user 'ocproxy' was rejected" in detail(status) and "agent.proxy" in detail(status)
        assert status["ok"] is False
        deadline = time.monotonic() + 20
        while len(proxy.connects()) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(proxy.connects()) >= 3  # it retries (the probe's CONNECT and gRPC's both reach the proxy)
        failures = [e for e in agent.lines() if e.get("event") == "tunnel.connect_failed"]
        assert failures and "authentication failed" in str(failures[0]["reason"])
        assert failures[0]["level"] == "warning"
        assert "refused the tunnel" not in agent.log.read_text()
        assert "wrong-password" not in agent.log.read_text()
    finally:
        agent.stop()


def test_proxy_without_credentials_is_named_by_its_407(
    tmp_path: Path, erp: Path, proxy: TinyProxy, gateway: TlsGateway
) -> None:
    """A proxy that wants credentials the agent does not send is named with its 407 in the status file."""
    agent = start_agent(tmp_path, gateway, erp, f'proxy = "http://127.0.0.1:{proxy.port}"')
    try:
        status = wait_status(tmp_path, lambda s: "407" in detail(s))
        assert "407 Proxy Authentication Required: proxy authentication failed (no credentials" in detail(status)
    finally:
        agent.stop()


def test_proxy_down_is_named_and_the_agent_recovers_when_it_returns(
    tmp_path: Path, erp: Path, proxy: TinyProxy, gateway: TlsGateway
) -> None:
    """With its proxy down the agent says so and retries; once the proxy is back the tunnel comes up by itself."""
    proxy.stop()
    agent = start_agent(tmp_path, gateway, erp, f'proxy = "{proxy.url()}"')
    try:
        status = wait_status(tmp_path, lambda s: "unreachable" in detail(s))
        assert f"proxy 127.0.0.1:{proxy.port} unreachable: connection refused" in detail(status)
        proxy.start()
        gateway.wait_serving()
        assert get_order(gateway).order.summary.order_number == "091782005"
        assert any(e.get("event") == "tunnel.recovered" for e in agent.lines())
    finally:
        assert agent.stop() == 0


def test_https_proxy_environment_is_used_and_no_proxy_bypasses_it(
    tmp_path: Path, erp: Path, proxy: TinyProxy, gateway: TlsGateway
) -> None:
    """Without agent.proxy the https_proxy environment is used; a gateway listed in no_proxy is dialled directly."""
    via_env = tmp_path / "env"
    via_env.mkdir()
    agent = start_agent(via_env, gateway, erp, https_proxy=proxy.url())
    try:
        gateway.wait_serving()
        assert len(proxy.connects()) >= 1
    finally:
        assert agent.stop() == 0
    seen = len(proxy.connects())
    bypass = tmp_path / "bypass"
    bypass.mkdir()
    agent = start_agent(bypass, gateway, erp, https_proxy=proxy.url(), no_proxy="localhost,127.0.0.0/8")
    try:
        wait_status(bypass, lambda s: s.get("ok") is True)
        assert len(proxy.connects()) == seen  # not a single CONNECT more: the agent went direct
    finally:
        assert agent.stop() == 0

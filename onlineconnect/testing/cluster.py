"""Test helpers for several gateway replicas: a private NATS server, in-process replicas, process configs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc

from onlineconnect.agent.connector import Connector
from onlineconnect.agent.session import TunnelSession
from onlineconnect.gateway.config import ClusterConfig
from onlineconnect.gateway.server import GatewayServer
from onlineconnect.testing import AGENT_TOKEN, SHOP_KEY, gateway_config, need_service
from onlineconnect.testing.processes import agent_toml, free_port, gateway_toml
from onlineconnect.v1 import orders_pb2

NATS_BIN = shutil.which("nats-server") or "/usr/sbin/nats-server"
SHOP_AUTH = (("authorization", f"Bearer {SHOP_KEY}"),)
ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


class NatsServer:
    """A private ``nats-server`` on a free loopback port (so parallel test runs never share subjects)."""

    def __init__(self, folder: Path) -> None:
        need_service(Path(NATS_BIN).exists(), f"nats-server binary not found ({NATS_BIN}); apt-get install nats-server")
        self.folder = folder
        self.port = free_port()
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL."""
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Starts (or restarts, on the same port) the server and waits until it accepts connections."""
        log = open(self.folder / "nats.log", "ab")
        self.popen = subprocess.Popen([NATS_BIN, "-a", "127.0.0.1", "-p", str(self.port)], stdout=log, stderr=log)
        log.close()
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            if time.monotonic() > deadline:
                raise TimeoutError("nats-server did not start")
            time.sleep(0.02)

    def signal(self, sig: int) -> None:
        """Sends ``sig`` to the server (SIGSTOP freezes it with its connections open, SIGCONT thaws it)."""
        assert self.popen is not None
        self.popen.send_signal(sig)

    def kill(self) -> None:
        """Kills the server at once (SIGKILL)."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGCONT)  # a frozen server must be able to die
            self.popen.kill()
            self.popen.wait()


@contextlib.contextmanager
def nats_server(folder: Path) -> Iterator[NatsServer]:
    """A running private NATS server, killed afterwards."""
    server = NatsServer(folder)
    server.start()
    try:
        yield server
    finally:
        server.kill()


@dataclass
class Stack:
    """In-process gateway replicas sharing one configuration, and agents attached to some of them."""

    gateways: list[GatewayServer]
    key: bytes
    agents: dict[str, list[tuple[Connector, asyncio.Task[Any]]]] = field(default_factory=dict)
    channels: list[grpc.aio.Channel] = field(default_factory=list)

    def address(self, i: int) -> str:
        """Shop address of replica ``i``."""
        return f"127.0.0.1:{self.gateways[i].port}"

    def channel(self, i: int) -> grpc.aio.Channel:
        """A shop channel to replica ``i``."""
        ch = grpc.aio.insecure_channel(self.address(i))
        self.channels.append(ch)
        return ch

    async def add_agent(self, name: str, handlers: Any, replicas: list[int], *, wait: bool = True) -> None:
        """Starts agent ``name`` with one reconnecting tunnel to each replica in ``replicas``."""

        def make() -> TunnelSession:
            return TunnelSession(
                tenant="demo", agent_id=name, token=AGENT_TOKEN, key_id=1, key=self.key, handlers=handlers
            )

        for i in replicas:
            before = len(self.gateways[i].registry.tunnels("demo"))
            conn = Connector(self.address(i), make, credentials=None, initial_backoff=0.05, max_backoff=0.5)
            self.agents.setdefault(name, []).append((conn, asyncio.create_task(conn.run())))
            if wait:
                await self.wait_tunnels(i, before + 1)

    async def kill_agent(self, name: str) -> None:
        """Ends agent ``name``'s tunnels abruptly, as if its process died."""
        for conn, task in self.agents.pop(name, []):
            conn.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_tunnels(self, i: int, count: int, timeout: float = 10.0) -> None:
        """Waits until replica ``i`` holds exactly ``count`` tunnels of tenant demo."""
        async with asyncio.timeout(timeout):
            while len(self.gateways[i].registry.tunnels("demo")) != count:
                await asyncio.sleep(0.01)

    async def wait_subscribed(self, i: int, subscribed: bool = True, timeout: float = 10.0) -> None:
        """Waits until replica ``i`` is (or is no longer) subscribed for tenant demo on NATS."""
        cluster = self.gateways[i].cluster
        assert cluster is not None
        async with asyncio.timeout(timeout):
            while cluster.connected is False or ("demo" in cluster._subs) != subscribed:
                await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_stack(
    nats_url: str | None,
    replicas: int = 2,
    *,
    prefix: str = "octest",
    default_deadline: float = 5.0,
    wait_cluster: bool = True,
    cluster_options: dict[str, Any] | None = None,
    **config_options: Any,
) -> AsyncIterator[Stack]:
    """Runs ``replicas`` gateways on loopback; with ``nats_url`` they are linked into a cluster (``cluster_options``:
    further :class:`ClusterConfig` fields such as ``ping_interval``; ``config_options``: further
    :class:`GatewayConfig` fields such as ``guest_lookup``)."""
    key = os.urandom(16)
    base = gateway_config(
        tenants={"demo": {1: key}},
        shops=[("shop", "demo", SHOP_KEY)],
        agents=[("agent", AGENT_TOKEN, ["demo"])],
        default_deadline=default_deadline,
        **config_options,
    )
    gateways = []
    for i in range(replicas):
        opts = cluster_options or {}
        cluster = (
            ClusterConfig(nats=nats_url, replica=f"gw-{i + 1}", subject_prefix=prefix, **opts) if nats_url else None
        )
        gateways.append(GatewayServer(replace(base, cluster=cluster)))
    stack = Stack(gateways=gateways, key=key)
    try:
        for g in gateways:
            await g.start()
        if nats_url and wait_cluster:
            for g in gateways:
                assert g.cluster is not None
                async with asyncio.timeout(10):
                    while not g.cluster.connected:
                        await asyncio.sleep(0.01)
        yield stack
    finally:
        for name in list(stack.agents):
            await stack.kill_agent(name)
        for ch in stack.channels:
            await ch.close()
        for g in gateways:
            await g.stop(0)


def write_cluster_gateway_config(folder: Path, name: str, port: int, nats_url: str, *, server_extra: str = "") -> Path:
    """A loopback gateway config for tenant demo (onlineconnect/testing/processes.py credentials) linked to ``nats_url``
    (``server_extra``: more lines for its ``[server]`` table)."""
    path = folder / f"{name}.toml"
    cluster = f'[cluster]\nnats = "{nats_url}"\nreplica = "{name}"\nsubject_prefix = "octest"\n'
    server = f"default_deadline_seconds = 10\n{server_extra}"
    path.write_text(gateway_toml(f"127.0.0.1:{port}", server_extra=server, tables=cluster))
    return path


def write_multi_agent_config(folder: Path, name: str, ports: list[int], erp: Path) -> Path:
    """An agent config for the demo ERP in ``erp`` dialling every port in ``ports`` (one tunnel each)."""
    path = folder / f"{name}.toml"
    gateways = ", ".join(f'"127.0.0.1:{p}"' for p in ports)
    path.write_text(agent_toml(name, f"[{gateways}]", erp, folder / f"{name}-status.json"))
    return path

"""NAT idle timeouts: a relay that silently forgets idle flows (no FIN, no RST) never strands the agent's tunnel.

The real defaults are a keepalive ping every 10 s with a 10 s timeout against NATs that forget flows idle for 60 s
(agent/connector.py explains the numbers). To stay fast these tests scale all three down by the same factor:
pings every 0.5 s (timeout 0.5 s) through a NAT that forgets flows idle for 3 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from onlineconnect.agent.connector import KEEPALIVE_TIME_MS, KEEPALIVE_TIMEOUT_MS, Connector
from onlineconnect.agent.session import TunnelSession
from onlineconnect.testing import AGENT_TOKEN, RunningRelay, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, orders_pb2_grpc

NAT_IDLE_SECONDS = 3.0
SCALE = NAT_IDLE_SECONDS / 60.0  # the real NAT timeout the defaults are made for


class ForgetfulNat:
    """A TCP relay that, like a NAT, forgets a flow idle for ``idle`` seconds: from then on it drops the flow's
    packets in both directions without telling either side (no FIN, no RST). ``forget_all()`` is a NAT reboot."""

    def __init__(self, target_port: int, idle: float) -> None:
        self.target_port = target_port
        self.idle = idle
        self.server: asyncio.Server | None = None
        self.flows = 0
        self.forgotten = 0
        self._generation = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def forget_all(self) -> None:
        self._generation += 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.flows += 1
        generation = self._generation
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        last = [time.monotonic()]
        dead = [False]

        def alive() -> bool:
            if not dead[0] and (time.monotonic() - last[0] > self.idle or generation != self._generation):
                dead[0] = True
                self.forgotten += 1
            return not dead[0]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                while data := await src.read(65536):
                    if not alive():
                        continue  # the mapping is gone: packets vanish, nobody is told
                    last[0] = time.monotonic()
                    dst.write(data)
                    await dst.drain()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def start_agent(relay: RunningRelay, port: int, keepalive: tuple[float, float]) -> Connector:
    def make() -> TunnelSession:
        return TunnelSession(
            tenant="demo", agent_id="nat-agent", token=AGENT_TOKEN, key_id=1, key=relay.key, handlers=relay.handlers
        )

    conn = Connector(
        f"127.0.0.1:{port}", make, credentials=None, initial_backoff=0.05, max_backoff=0.5, keepalive=keepalive
    )
    relay.connectors.append(conn)
    relay.agent_tasks.append(asyncio.create_task(conn.run()))
    await relay.wait_tunnels("demo")
    return conn


async def get_order(relay: RunningRelay) -> str:
    stub = orders_pb2_grpc.OrderServiceStub(relay.shop_channel())
    resp = await stub.GetOrder(
        orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
        metadata=relay.shop_auth,
        timeout=5,
    )
    return str(resp.order.summary.order_number)


SCALED = (KEEPALIVE_TIME_MS / 1000 * SCALE, KEEPALIVE_TIMEOUT_MS / 1000 * SCALE)


async def test_defaults_keep_an_idle_tunnel_alive_through_a_forgetful_nat() -> None:
    """With the default keepalive (scaled with the NAT timeout) an idle tunnel outlives the NAT's idle timeout."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        nat = ForgetfulNat(relay.gateway.port, NAT_IDLE_SECONDS)
        conn = await start_agent(relay, await nat.start(), SCALED)
        first = conn.session
        await asyncio.sleep(NAT_IDLE_SECONDS * 2)  # no calls: only keepalive pings cross the NAT
        assert nat.forgotten == 0 and conn.session is first and first is not None and first.ready.is_set()
        assert await get_order(relay) == "091782005"
        await nat.stop()


async def test_a_forgotten_flow_is_noticed_and_the_tunnel_rebuilt() -> None:
    """When the NAT forgets the flow anyway (a reboot), the agent notices by an unanswered ping and is back."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        nat = ForgetfulNat(relay.gateway.port, NAT_IDLE_SECONDS)
        conn = await start_agent(relay, await nat.start(), SCALED)
        first = conn.session
        nat.forget_all()
        t0 = time.monotonic()
        async with asyncio.timeout(30):
            while conn.session is first or conn.session is None or not conn.session.ready.is_set():
                await asyncio.sleep(0.05)
        print(
            f"forgotten flow noticed and tunnel rebuilt after {time.monotonic() - t0:.2f} s "
            f"(keepalive {SCALED[0]:.2f} s + timeout {SCALED[1]:.2f} s)"
        )
        assert await get_order(relay) == "091782005"
        assert nat.flows >= 2
        await nat.stop()


async def test_a_keepalive_longer_than_the_nat_timeout_loses_the_idle_tunnel() -> None:
    """The NAT relay is real: with pings rarer than its idle timeout the idle flow is forgotten and must be rebuilt."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        nat = ForgetfulNat(relay.gateway.port, 1.0)
        conn = await start_agent(relay, await nat.start(), (2.0, 0.5))
        first = conn.session
        async with asyncio.timeout(30):
            while conn.session is first:
                await asyncio.sleep(0.05)
        assert nat.forgotten >= 1
        await nat.stop()

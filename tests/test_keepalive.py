"""Keepalive: an agent whose gateway silently vanishes (no FIN, no RST) notices and reconnects by itself."""

from __future__ import annotations

import asyncio
import contextlib
import time

from onlineconnect.testing import running_relay
from onlineconnect.testing.fakes import FakeHandlers


class FreezableProxy:
    """A TCP proxy that can stop forwarding while keeping every connection open (a dead NAT mapping)."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.frozen = False
        self.server: asyncio.Server | None = None
        self.connections = 0

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, era: bool) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while data := await reader.read(65536):
                if self.frozen and era:
                    continue  # swallow: the peer never hears back, and never sees the connection close
                writer.write(data)
                await writer.drain()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        era = not self.frozen  # connections opened before the freeze are the ones that go dead
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        await asyncio.gather(self._pipe(reader, up_writer, era), self._pipe(up_reader, writer, era))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_dead_gateway_is_noticed_and_the_agent_reconnects() -> None:
    """After the path to the gateway goes silent, the agent gives up the dead tunnel and builds a new one."""
    async with running_relay(FakeHandlers(), start_agent=False) as relay:
        proxy = FreezableProxy(relay.gateway.port)
        port = await proxy.start()
        conn = await relay.start_agent(address=f"127.0.0.1:{port}")
        first_session = conn.session
        proxy.frozen = True
        t0 = time.monotonic()
        async with asyncio.timeout(60):
            while conn.session is first_session or not conn.session.ready.is_set():
                await asyncio.sleep(0.2)
        noticed_after = time.monotonic() - t0
        print(f"dead gateway noticed and tunnel rebuilt after {noticed_after:.1f} s")
        assert proxy.connections >= 2
        await proxy.stop()

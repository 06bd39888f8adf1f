"""A whole shop on loopback for the storefront tests: demo ERP, gateway, agent and storefront, all real.

The gateway and the agent run in-process (``onlineconnect.testing.running_relay``) on an asyncio loop in a background
thread; the storefront runs its threaded HTTP server on a free port and reaches the gateway through the generated
gRPC client, exactly as in ``make demo``. ``stop_agent()`` takes the ERP offline while the shop keeps running.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onlineconnect.agent.erp.db import SqlAlchemyDatabase
from onlineconnect.agent.erp.demo import create_demo_erp
from onlineconnect.agent.erp.mapping import load_mapping
from onlineconnect.agent.handlers import Handlers
from onlineconnect.agent.orders import OrderQueries, OrderSettings
from onlineconnect.agent.stock import StockQueries, StockSettings
from onlineconnect.storefront import ShopClient, make_server
from onlineconnect.storefront.server import proxy_networks
from onlineconnect.testing import SHOP_KEY, RunningRelay, running_relay


class SlowHandlers:
    """The real handlers with an adjustable delay before each unary answer (a slow ERP); ``methods`` lists the
    methods the agent was asked, in order."""

    def __init__(self, inner: Handlers) -> None:
        self.inner = inner
        self.delay = 0.0
        self.methods: list[str] = []

    async def unary(self, call: Any, request: Any, ctx: Any) -> Any:
        self.methods.append(call.method)
        if self.delay:
            await asyncio.sleep(self.delay)
        return await self.inner.unary(call, request, ctx)

    def stream(self, call: Any, request: Any, ctx: Any) -> Any:
        return self.inner.stream(call, request, ctx)

    def close(self) -> None:
        self.inner.close()


@dataclass
class ShopStack:
    """The running shop: ``url`` is the storefront, ``relay`` the gateway with its agent, ``handlers`` the ERP side."""

    url: str
    relay: RunningRelay
    loop: asyncio.AbstractEventLoop
    handlers: SlowHandlers

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=15)

    def stop_agent(self) -> None:
        """Disconnects the agent: the gateway answers UNAVAILABLE, as when the ERP side is offline."""
        self._call(self.relay.stop_agents())

    def start_agent(self) -> None:
        """Connects the agent again and waits until its tunnel is registered."""
        self._call(self.relay.start_agent())


def demo_handlers(folder: Path) -> Handlers:
    """Real agent handlers on a fresh demo ERP in ``folder``."""
    create_demo_erp(folder / "erp.db", folder / "archive")
    db = SqlAlchemyDatabase(f"sqlite:///{folder / 'erp.db'}", load_mapping())
    return Handlers(OrderQueries(db, OrderSettings(archive_root=folder / "archive")), StockQueries(db, StockSettings()))


@contextlib.contextmanager
def running_shop(folder: Path, *, trusted_proxies: tuple[str, ...] = (), **relay_options: Any) -> Iterator[ShopStack]:
    """Starts demo ERP, gateway, agent and storefront; stops them all on exit.

    Args:
        folder: Where the demo ERP is created.
        trusted_proxies: The storefront's ``--trusted-proxy`` values.
        relay_options: Further gateway configuration (``GatewayConfig`` fields such as ``guest_lookup``).
    """
    handlers = SlowHandlers(demo_handlers(folder))
    loop = asyncio.new_event_loop()
    ready: Future[RunningRelay] = Future()
    stop = threading.Event()

    async def relay_main() -> None:
        try:
            async with running_relay(handlers, **relay_options) as relay:
                ready.set_result(relay)
                while not stop.is_set():
                    await asyncio.sleep(0.05)
        except BaseException as exc:  # surface start-up failures in the test thread
            if not ready.done():
                ready.set_exception(exc)
            raise

    thread = threading.Thread(target=loop.run_until_complete, args=(relay_main(),), name="relay", daemon=True)
    thread.start()
    relay = ready.result(timeout=30)
    client = ShopClient(relay.address, SHOP_KEY)
    server = make_server(client, "127.0.0.1", 0, trusted_proxies=proxy_networks(trusted_proxies))
    http = threading.Thread(target=server.serve_forever, name="storefront", daemon=True)
    http.start()
    try:
        yield ShopStack(f"http://127.0.0.1:{server.server_address[1]}", relay, loop, handlers)
    finally:
        server.shutdown()
        server.server_close()
        client.close()
        stop.set()
        thread.join(timeout=30)
        loop.close()
        handlers.close()

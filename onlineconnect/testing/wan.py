"""A WAN link between agent and gateway on loopback: one-way delay and a bandwidth cap per direction.

Kernel netem is not available on the machines we measure on, so this asyncio TCP relay stands in for the
merchant's line. It listens on ``127.0.0.1:0`` and forwards every connection to the gateway; the agent's config
says ``gateway = "127.0.0.1:<link port>"``. Each direction is a pipe shared by all connections of the link:

* **bandwidth**: bytes leave in arrival order at the direction's rate (a token bucket that holds one read, so no
  burst beyond the current chunk): a read of ``n`` bytes is done ``n * 8 / rate`` seconds after the previous one;
* **delay**: each read is delivered ``rtt / 2`` after it has left (propagation);
* **buffer**: at most ``buffer_bytes`` of a connection wait in a direction (a router's queue); beyond that the
  relay stops reading from the sender, so TCP's own back-pressure reaches it, as on a real line.

"Up" is the merchant's uplink (agent → gateway: answers and PDFs), "down" the other way.
:meth:`Link.cut` drops every open connection, which makes the agent reconnect (used by the soak).

    async with Link("127.0.0.1", gateway_port, DSL) as link:
        ...  # agent dials 127.0.0.1:{link.port}
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
from dataclasses import dataclass
from types import TracebackType

READ_BYTES = 16 * 1024


@dataclass(frozen=True)
class Profile:
    """A line: round-trip time and the rate of each direction."""

    name: str
    rtt_ms: float
    up_mbit: float  # agent → gateway
    down_mbit: float  # gateway → agent

    def bdp_bytes(self, mbit: float) -> int:
        """Bandwidth-delay product of a direction at ``mbit``: what must be in flight to fill it."""
        return int(mbit * 1e6 / 8 * self.rtt_ms / 1000)


DSL = Profile("DSL", rtt_ms=30, up_mbit=10, down_mbit=50)
FIBRE = Profile("fibre", rtt_ms=10, up_mbit=100, down_mbit=100)
PROFILES = {p.name: p for p in (DSL, FIBRE)}
NONE = Profile("none", rtt_ms=0, up_mbit=0, down_mbit=0)  # 0: no cap; used to cut connections only


class Pipe:
    """One direction: serialisation at ``mbit`` (0 = unlimited), then ``delay`` seconds of propagation."""

    def __init__(self, *, mbit: float, delay: float, buffer_bytes: int) -> None:
        self.rate = mbit * 1e6 / 8 if mbit else 0.0
        self.delay = delay
        self.buffer_bytes = buffer_bytes
        self._next_free = 0.0
        self.queued = 0
        self.bytes = 0

    def schedule(self, n: int) -> float:
        """Books ``n`` bytes on the line now; returns the monotonic time they arrive at the far end."""
        now = time.monotonic()
        start = max(now, self._next_free)
        self._next_free = start + (n / self.rate if self.rate else 0.0)
        self.bytes += n
        return self._next_free + self.delay


class Link:
    """The emulated line: a TCP relay from ``127.0.0.1:<port>`` to ``target``."""

    def __init__(self, host: str, port: int, profile: Profile, *, buffer_bytes: int = 0) -> None:
        self.target = (host, port)
        self.profile = profile
        delay = profile.rtt_ms / 2000
        self.up = Pipe(mbit=profile.up_mbit, delay=delay, buffer_bytes=buffer_bytes or self._buffer(profile.up_mbit))
        self.down = Pipe(
            mbit=profile.down_mbit, delay=delay, buffer_bytes=buffer_bytes or self._buffer(profile.down_mbit)
        )
        self.port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def _buffer(self, mbit: float) -> int:
        # Twice the bandwidth-delay product (at least 256 KiB): enough to keep the line busy, not a bufferbloat.
        return max(256 * 1024, 2 * self.profile.bdp_bytes(mbit))

    async def start(self) -> int:
        """Starts listening; returns the port."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Stops listening and drops every connection."""
        if self._server is not None:
            self._server.close()
        self.cut()
        for t in list(self._tasks):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> Link:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    def cut(self) -> int:
        """Drops every open connection (both ends see a reset); returns how many sockets were closed."""
        writers = list(self._writers)
        for w in writers:
            with contextlib.suppress(Exception):
                w.transport.abort()
        return len(writers)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._relay(reader, writer)
        except asyncio.CancelledError:
            # The line is being stopped. Python 3.11's stream server asks a cancelled connection task for its
            # exception and prints the CancelledError that raises as "Exception in callback": end quietly instead.
            writer.transport.abort()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.connections += 1
        self._writers.update((writer, up_writer))
        pumps = [
            asyncio.create_task(self._pump(reader, up_writer, self.up)),
            asyncio.create_task(self._pump(up_reader, writer, self.down)),
        ]
        self._tasks.update(pumps)
        try:
            # A clean end of one direction is a half-close: the other may go on. An error ends both.
            pending: set[asyncio.Task[None]] = set(pumps)
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if any(t.cancelled() or t.exception() is not None for t in done):
                    break
        finally:
            for p in pumps:
                p.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._tasks.difference_update(pumps)
            for w in (writer, up_writer):
                self._writers.discard(w)
                w.transport.abort()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter, pipe: Pipe) -> None:
        """Reads from ``src``, books each read on the pipe, a delivery task writes it to ``dst`` on arrival."""
        queue: collections.deque[tuple[float, bytes]] = collections.deque()
        arrived = asyncio.Event()
        room = asyncio.Event()
        room.set()
        done = False
        held = 0  # bytes of this connection waiting on the line (its share of the router's queue)

        async def deliver() -> None:
            nonlocal held
            while True:
                while not queue:
                    if done:
                        return
                    arrived.clear()
                    await arrived.wait()
                at, data = queue[0]
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                queue.popleft()
                pipe.queued -= len(data)
                held -= len(data)
                if held <= pipe.buffer_bytes:
                    room.set()
                dst.write(data)
                await dst.drain()

        delivery = asyncio.create_task(deliver())
        try:
            while True:
                if held > pipe.buffer_bytes:
                    room.clear()
                    await room.wait()
                data = await src.read(READ_BYTES)
                if not data:
                    break
                queue.append((pipe.schedule(len(data)), data))
                pipe.queued += len(data)
                held += len(data)
                arrived.set()
            done = True
            arrived.set()
            await delivery
            if dst.can_write_eof():
                dst.write_eof()
        finally:
            delivery.cancel()
            pipe.queued -= held


def main(argv: list[str] | None = None) -> int:
    """``python -m onlineconnect.testing.wan --to HOST:PORT --profile DSL``: runs a link in its own process,
    prints its port."""
    import argparse
    import signal
    import sys

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--to", required=True, help="the gateway's host:port")
    parser.add_argument("--profile", choices=[*PROFILES, NONE.name], default=DSL.name)
    args = parser.parse_args(argv)
    host, _, port = args.to.rpartition(":")
    profile = PROFILES.get(args.profile, NONE)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        async with Link(host, int(port), profile) as link:
            print(f"link {profile.name} on port {link.port}", flush=True)
            await stop.wait()
        sys.stdout.flush()

    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

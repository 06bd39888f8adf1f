"""One end of a sealed tunnel session: the single writer task and the frame reassembly, shared by both roles.

Messages to send are already-encoded ``TunnelMessage`` bytes put into an outbox. One writer task per stream takes
whatever has queued up, bundles it (under load many messages share a frame, so there are fewer gRPC messages and
fewer MAC computations), seals the bundle into frames of at most 64 KiB and writes them. When idle, a message is
written alone at once, so bundling never adds latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from . import wire
from .envelope import MAX_FRAME_BYTES, Opener, Reassembler, Sealer
from .v1 import tunnel_pb2

WriteFrame = Callable[[tunnel_pb2.SealedFrame], Awaitable[None]]

_CLOSE = b""


class SealedLink:
    """Outbox, writer and reassembler of one session end."""

    def __init__(self, sealer: Sealer, opener: Opener, write: WriteFrame) -> None:
        self._sealer = sealer
        self._reassembler = Reassembler(opener)
        self._write = write
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self.bytes_out = 0
        self.bytes_in = 0
        self.frames_out = 0

    def send(self, message: bytes) -> None:
        """Queues one encoded TunnelMessage for the writer. Never blocks."""
        self._outbox.put_nowait(message)

    def close(self) -> None:
        """Lets the writer finish what is queued, then stop."""
        self._outbox.put_nowait(_CLOSE)

    def open(self, frame: tunnel_pb2.SealedFrame) -> bytes | None:
        """Opens a received frame; returns a whole bundle's plaintext when complete (raises EnvelopeError)."""
        self.bytes_in += len(frame.ciphertext)
        return self._reassembler.feed(frame)

    async def run_writer(self) -> None:
        """The one writer task of the stream: bundles, seals and writes until closed."""
        outbox = self._outbox
        carry: bytes | None = None
        while True:
            first = carry if carry is not None else await outbox.get()
            carry = None
            if first is _CLOSE:
                return
            parts = [first]
            size = wire.bundle_overhead(len(first))
            closing = False
            while not outbox.empty():
                nxt = outbox.get_nowait()
                if nxt is _CLOSE:
                    closing = True
                    break
                cost = wire.bundle_overhead(len(nxt))
                if size + cost > MAX_FRAME_BYTES:
                    carry = nxt
                    break
                parts.append(nxt)
                size += cost
            plaintext = wire.bundle(parts)
            for frame in self._sealer.seal_all(plaintext):
                self.bytes_out += len(frame.ciphertext)
                self.frames_out += 1
                await self._write(frame)
            if closing:
                return

"""One end of a sealed tunnel session, the part of the session protocol both roles share: the ``TunnelReady`` each
side sends first, the single writer task, the frame reassembly and the read loop (:meth:`SealedLink.pump`). The
handshake before it differs by role (the agent dials and says hello, the gateway checks and welcomes:
``agent/session.py`` and ``gateway/connect.py``); from the first sealed frame on both ends run this code.

Messages to send are already-encoded ``TunnelMessage`` bytes put into an outbox. One writer task per stream takes
whatever has queued up, bundles it (under load many messages share a frame, so there are fewer gRPC messages and
fewer MAC computations), seals the bundle into frames of at most 64 KiB and writes them. When idle, a message is
written alone at once, so bundling never adds latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol

from google.protobuf.message import DecodeError

from . import wire
from .envelope import MAX_FRAME_BYTES, PROTOCOL_VERSION, Opener, Reassembler, Sealer
from .errors import EnvelopeError
from .v1 import tunnel_pb2

WriteFrame = Callable[[tunnel_pb2.SealedFrame], Awaitable[None]]

# The first sealed message in each direction: the sender holds the tenant key and speaks this protocol version.
READY = tunnel_pb2.TunnelMessage(ready=tunnel_pb2.TunnelReady(protocol_version=PROTOCOL_VERSION)).SerializeToString()


class Frame(Protocol):
    """A stream frame of either direction (``ConnectRequest`` / ``ConnectResponse``): only sealed ones count here."""

    @property
    def sealed(self) -> tunnel_pb2.SealedFrame: ...

    def HasField(self, field_name: str) -> bool: ...


ReadFrame = Callable[[], Awaitable[Frame | None]]


def starts_ready(plaintext: bytes) -> bool:
    """True if a bundle's first message is ``TunnelReady`` (what the first sealed bundle of a session must be)."""
    try:
        bundle = tunnel_pb2.TunnelBundle.FromString(plaintext)
    except DecodeError:
        return False
    return bool(bundle.messages) and bundle.messages[0].HasField("ready")


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

    async def pump(self, read: ReadFrame, deliver: Callable[[bytes], None]) -> None:
        """The session's read loop: reads frames until ``read`` returns None (the stream ended), opens each sealed
        frame and hands every complete bundle's plaintext to ``deliver``.

        Raises:
            EnvelopeError: an unsealed frame after the handshake, or one that does not open (forged, tampered,
                replayed, reordered); the caller ends the session.
        """
        while True:
            frame = await read()
            if frame is None:
                return
            if not frame.HasField("sealed"):
                raise EnvelopeError("unsealed frame after the handshake")
            plaintext = self.open(frame.sealed)
            if plaintext is not None:
                deliver(plaintext)

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

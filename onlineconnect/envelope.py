"""The Blowfish envelope that seals every payload on the tunnel.

Construction (see ``docs/protocol.md``):

* Each tenant has 128-bit Blowfish keys, each with a numeric key id (for rotation).
* A tunnel session starts with fresh 16-byte nonces from both sides (``AgentHello.agent_nonce``,
  ``GatewayWelcome.gateway_nonce``). Per direction and *epoch* the session derives an encryption subkey (16 bytes)
  and a MAC key (32 bytes) with HMAC-SHA256 over the tenant key, so no two sessions, directions or epochs share
  a key.
* Frames are encrypted with Blowfish in CTR mode. The cipher object of a direction lives as long as its epoch:
  the key schedule (about 30 µs) runs once per epoch, not per frame, and the counter simply continues from frame
  to frame. That is sound because frames of one direction are strictly ordered (the sequence number below) and a
  frame that fails verification ends the session.
* Before a subkey would encrypt more than :data:`MAX_BYTES_PER_KEY` (8 MiB) the sender moves to the next epoch.
  Blowfish has a 64-bit block; Sweet32-style birthday attacks need far more data under one key than that.
* Each frame carries ``key_id``, ``epoch``, ``seq`` and a tag: the first 16 bytes of HMAC-SHA256 over those three
  numbers and the ciphertext (encrypt-then-MAC). The receiver checks the tag in constant time, then demands
  ``seq`` to be exactly the next expected number: a flipped bit, a frame from another session, a replay or a
  reorder is rejected with :class:`~onlineconnect.errors.EnvelopeError`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass

from Crypto.Cipher import Blowfish

from .errors import EnvelopeError
from .v1 import tunnel_pb2

KEY_BYTES = 16
NONCE_BYTES = 16
TAG_BYTES = 16
MAX_BYTES_PER_KEY = 8 * 1024 * 1024
MAX_FRAME_BYTES = 64 * 1024
# A bundle spans several frames only when it holds one large answer; gRPC clients refuse messages over 4 MiB.
MAX_BUNDLE_BYTES = 4 * 1024 * 1024 + MAX_FRAME_BYTES
PROTOCOL_VERSION = 2  # 2: calls named by method path (AgentRequest.method); 1: per-RPC oneof fields

AGENT_TO_GATEWAY = b"a2g"
GATEWAY_TO_AGENT = b"g2a"

_HEADER = struct.Struct(">IIQ?")
_LABEL = b"onlineconnect/v1 envelope "


def new_nonce() -> bytes:
    """Returns fresh random bytes for a session nonce."""
    return os.urandom(NONCE_BYTES)


def check_key(key: bytes, *, what: str = "tenant key") -> bytes:
    """Returns ``key`` if it is a 128-bit key, else raises ValueError naming ``what``."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"{what} must be {KEY_BYTES} bytes (128 bits), got {len(key)}")
    return key


@dataclass(frozen=True)
class SessionSecret:
    """What both ends know about a tunnel session: the tenant key and both nonces."""

    key_id: int
    key: bytes
    agent_nonce: bytes
    gateway_nonce: bytes

    def derive(self, direction: bytes, epoch: int) -> tuple[bytes, bytes]:
        """Returns (encryption subkey, MAC key) for ``direction`` and ``epoch``."""
        info = b"%s|%s|%s|%d" % (direction, self.agent_nonce, self.gateway_nonce, epoch)
        enc = hmac.new(self.key, _LABEL + b"enc|" + info, hashlib.sha256).digest()[:KEY_BYTES]
        mac = hmac.new(self.key, _LABEL + b"mac|" + info, hashlib.sha256).digest()
        return enc, mac


class _Epoch:
    """Cipher and MAC state of one direction in one epoch."""

    __slots__ = ("cipher", "mac", "used")

    def __init__(self, secret: SessionSecret, direction: bytes, epoch: int) -> None:
        enc, mac = secret.derive(direction, epoch)
        # The subkey is unique per session, direction and epoch, so a constant nonce never repeats a keystream.
        self.cipher = Blowfish.new(enc, Blowfish.MODE_CTR, nonce=b"\x00" * 4)
        self.mac = hmac.new(mac, digestmod=hashlib.sha256)
        self.used = 0


def _tag(mac: hmac.HMAC, key_id: int, epoch: int, seq: int, more: bool, ciphertext: bytes) -> bytes:
    m = mac.copy()
    m.update(_HEADER.pack(key_id, epoch, seq, more))
    m.update(ciphertext)
    return m.digest()[:TAG_BYTES]


class _Direction:
    """Key material and position (epoch, next sequence number) of one direction of one session."""

    def __init__(self, secret: SessionSecret, direction: bytes) -> None:
        self._secret = secret
        self._direction = direction
        self._epoch_no = 0
        self._epoch = _Epoch(secret, direction, 0)
        self._seq = 0


class Sealer(_Direction):
    """Seals the frames of one direction of one session. Not thread-safe: one writer task owns it."""

    def seal(self, plaintext: bytes, *, more: bool = False) -> tunnel_pb2.SealedFrame:
        """Encrypts and authenticates ``plaintext`` (at most MAX_FRAME_BYTES) as the next frame.

        Args:
            plaintext: The bytes to seal.
            more: The plaintext continues in the next frame.
        """
        if len(plaintext) > MAX_FRAME_BYTES:
            raise ValueError(f"frame of {len(plaintext)} bytes exceeds {MAX_FRAME_BYTES}")
        if self._epoch.used + len(plaintext) > MAX_BYTES_PER_KEY:
            self._epoch_no += 1
            self._epoch = _Epoch(self._secret, self._direction, self._epoch_no)
        self._epoch.used += len(plaintext)
        ct = self._epoch.cipher.encrypt(plaintext)
        seq = self._seq
        self._seq += 1
        tag = _tag(self._epoch.mac, self._secret.key_id, self._epoch_no, seq, more, ct)
        return tunnel_pb2.SealedFrame(
            key_id=self._secret.key_id, epoch=self._epoch_no, seq=seq, ciphertext=ct, tag=tag, more=more
        )

    def seal_all(self, plaintext: bytes) -> list[tunnel_pb2.SealedFrame]:
        """Seals ``plaintext`` of any size as consecutive frames of at most MAX_FRAME_BYTES each."""
        n = len(plaintext)
        if n <= MAX_FRAME_BYTES:
            return [self.seal(plaintext)]
        view = memoryview(plaintext)
        return [
            self.seal(bytes(view[i : i + MAX_FRAME_BYTES]), more=i + MAX_FRAME_BYTES < n)
            for i in range(0, n, MAX_FRAME_BYTES)
        ]


class Opener(_Direction):
    """Verifies and decrypts the frames of one direction of one session, in order."""

    def open(self, frame: tunnel_pb2.SealedFrame) -> bytes:
        """Returns the plaintext of ``frame``.

        Raises:
            EnvelopeError: wrong key id, bad tag, unexpected sequence number or epoch, oversized frame. The session
                must be closed: its cipher state cannot recover from a lost or forged frame.
        """
        if frame.key_id != self._secret.key_id:
            raise EnvelopeError(f"frame sealed with key id {frame.key_id}, session uses {self._secret.key_id}")
        ct = frame.ciphertext
        if len(ct) > MAX_FRAME_BYTES:
            raise EnvelopeError(f"frame of {len(ct)} bytes exceeds {MAX_FRAME_BYTES}")
        epoch = self._epoch
        if frame.epoch == self._epoch_no + 1:
            epoch = _Epoch(self._secret, self._direction, frame.epoch)
        elif frame.epoch != self._epoch_no:
            raise EnvelopeError(f"frame of epoch {frame.epoch} where {self._epoch_no} or the next was expected")
        expected = _tag(epoch.mac, frame.key_id, frame.epoch, frame.seq, frame.more, ct)
        if not hmac.compare_digest(expected, frame.tag):
            raise EnvelopeError("frame failed authentication (tampered, forged or sealed with another key)")
        if frame.seq != self._seq:
            raise EnvelopeError(f"frame sequence {frame.seq} where {self._seq} was expected (replayed or reordered)")
        if epoch is not self._epoch:
            self._epoch, self._epoch_no = epoch, frame.epoch
        if epoch.used + len(ct) > MAX_BYTES_PER_KEY:
            raise EnvelopeError("peer exceeded the data limit of one subkey")
        epoch.used += len(ct)
        self._seq += 1
        return epoch.cipher.decrypt(ct)


class Reassembler:
    """Joins the plaintexts of frames flagged ``more`` into whole bundles, with a size cap against memory abuse."""

    def __init__(self, opener: Opener, *, max_bytes: int = MAX_BUNDLE_BYTES) -> None:
        self._opener = opener
        self._parts: list[bytes] = []
        self._size = 0
        self._max = max_bytes

    def feed(self, frame: tunnel_pb2.SealedFrame) -> bytes | None:
        """Opens ``frame``; returns a whole bundle's plaintext once its last frame arrived, else None."""
        pt = self._opener.open(frame)
        if not frame.more and not self._parts:
            return pt
        self._size += len(pt)
        if self._size > self._max:
            raise EnvelopeError(f"bundle larger than {self._max} bytes")
        self._parts.append(pt)
        if frame.more:
            return None
        whole = b"".join(self._parts)
        self._parts, self._size = [], 0
        return whole


def session_pair(secret: SessionSecret, *, agent: bool) -> tuple[Sealer, Opener]:
    """Returns (sealer, opener) for the agent's or the gateway's end of a session."""
    out, inc = (AGENT_TO_GATEWAY, GATEWAY_TO_AGENT) if agent else (GATEWAY_TO_AGENT, AGENT_TO_GATEWAY)
    return Sealer(secret, out), Opener(secret, inc)

"""Hostile input for the envelope parser: random bytes, truncation, flipped bits, wrong key ids, replays, reorders."""

from __future__ import annotations

import os

from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onlineconnect.envelope import MAX_FRAME_BYTES, Opener, Reassembler, SessionSecret, session_pair
from onlineconnect.errors import EnvelopeError
from onlineconnect.v1 import tunnel_pb2

KEY = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
SECRET = SessionSecret(7, KEY, b"a" * 16, b"g" * 16)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def opener() -> Opener:
    """A fresh gateway-side opener of the fixed session."""
    return session_pair(SECRET, agent=False)[1]


def sealed(messages: list[bytes]) -> list[bytes]:
    """The messages sealed by the agent side, as encoded frames."""
    sealer = session_pair(SECRET, agent=True)[0]
    return [sealer.seal(m).SerializeToString() for m in messages]


def try_open(raw: bytes, op: Opener | None = None) -> bytes | None:
    """Parses and opens ``raw``; None if refused with DecodeError or EnvelopeError (anything else fails the test)."""
    try:
        frame = tunnel_pb2.SealedFrame.FromString(raw)
    except DecodeError:
        return None
    try:
        return (op or opener()).open(frame)
    except EnvelopeError:
        return None


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_are_never_accepted(raw: bytes) -> None:
    """Random bytes never open as a frame: they fail to parse or fail authentication."""
    assert try_open(raw) is None


@FUZZ
@given(st.binary(min_size=0, max_size=2048), st.data())
def test_flipped_bits_and_truncation_are_refused(payload: bytes, data: st.DataObject) -> None:
    """A frame with any bit flipped, or cut short anywhere, is refused (or, never, opens to something else)."""
    raw = sealed([payload])[0]
    pos = data.draw(st.integers(0, len(raw) - 1))
    bit = data.draw(st.integers(0, 7))
    flipped = bytearray(raw)
    flipped[pos] ^= 1 << bit
    assert try_open(bytes(flipped)) in (None, payload)
    cut = data.draw(st.integers(0, len(raw) - 1))
    assert try_open(raw[:cut]) in (None, payload)


@FUZZ
@given(st.integers(0, 2**32 - 1).filter(lambda k: k != SECRET.key_id), st.binary(max_size=256))
def test_wrong_key_id_or_key_is_refused(key_id: int, payload: bytes) -> None:
    """A frame under another key id, or sealed with another key, is refused."""
    frame = tunnel_pb2.SealedFrame.FromString(sealed([payload])[0])
    frame.key_id = key_id
    assert try_open(frame.SerializeToString()) is None
    other = SessionSecret(SECRET.key_id, os.urandom(16), SECRET.agent_nonce, SECRET.gateway_nonce)
    foreign = session_pair(other, agent=True)[0].seal(payload).SerializeToString()
    assert try_open(foreign) is None


@FUZZ
@given(st.lists(st.binary(max_size=64), min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_replayed_and_reordered_frames_are_refused(messages: list[bytes], rnd: object) -> None:
    """Of a shuffled or repeated stream, only the in-order prefix opens; the first frame out of order ends it."""
    frames = sealed(messages)
    order = [*range(len(frames)), rnd.randrange(len(frames))]  # type: ignore[attr-defined]
    rnd.shuffle(order)  # type: ignore[attr-defined]
    op = opener()
    expected = 0
    for i in order:
        result = try_open(frames[i], op)
        if i == expected:
            assert result == messages[i]
            expected += 1
        else:
            assert result is None
            break


def test_oversized_frame_and_bundle_are_refused() -> None:
    """A frame above MAX_FRAME_BYTES and a reassembled bundle above its cap are refused, not buffered."""
    frame = tunnel_pb2.SealedFrame(key_id=SECRET.key_id, ciphertext=b"x" * (MAX_FRAME_BYTES + 1), tag=b"t" * 16)
    assert try_open(frame.SerializeToString()) is None
    sealer, _ = session_pair(SECRET, agent=True)
    reassembler = Reassembler(opener(), max_bytes=3 * 1024)
    reassembler.feed(sealer.seal(b"a" * 2048, more=True))
    try:
        reassembler.feed(sealer.seal(b"b" * 2048, more=True))
    except EnvelopeError as exc:
        assert "larger than" in exc.message
    else:
        raise AssertionError("the oversized bundle was accepted")

"""The Blowfish envelope: sealing, authentication, ordering, subkey epochs, fragmentation."""

from __future__ import annotations

import os

import pytest

from onlineconnect import envelope
from onlineconnect.envelope import MAX_BYTES_PER_KEY, MAX_FRAME_BYTES, Reassembler, SessionSecret, session_pair
from onlineconnect.errors import EnvelopeError
from onlineconnect.v1 import tunnel_pb2


def _pair(key: bytes | None = None) -> tuple[SessionSecret, SessionSecret]:
    key = key or os.urandom(16)
    a, g = os.urandom(16), os.urandom(16)
    return SessionSecret(1, key, a, g), SessionSecret(1, key, a, g)


def test_round_trip_both_directions() -> None:
    """What one end seals the other end opens, in both directions, frame after frame."""
    s1, s2 = _pair()
    agent_seal, agent_open = session_pair(s1, agent=True)
    gw_seal, gw_open = session_pair(s2, agent=False)
    for i in range(50):
        msg = os.urandom(i * 37)
        assert gw_open.open(agent_seal.seal(msg)) == msg
        assert agent_open.open(gw_seal.seal(msg[::-1])) == msg[::-1]


def test_ciphertext_is_not_plaintext() -> None:
    """The payload is encrypted: the plaintext does not appear in the frame."""
    s1, _ = _pair()
    sealer, _ = session_pair(s1, agent=True)
    msg = b"Ochsenziemer XL " * 8
    frame = sealer.seal(msg)
    assert msg[:16] not in frame.SerializeToString()
    assert len(frame.tag) == envelope.TAG_BYTES


@pytest.mark.parametrize("field", ["ciphertext", "tag"])
def test_flipped_bit_is_rejected(field: str) -> None:
    """A single flipped bit in ciphertext or tag fails authentication."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    frame = sealer.seal(b"x" * 100)
    data = bytearray(getattr(frame, field))
    data[len(data) // 2] ^= 0x01
    setattr(frame, field, bytes(data))
    with pytest.raises(EnvelopeError, match="authentication"):
        opener.open(frame)


def test_header_fields_are_authenticated() -> None:
    """Changing the sequence number, epoch or more flag of a frame fails authentication."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    for mutate in (lambda f: setattr(f, "more", True), lambda f: setattr(f, "seq", 1)):
        _, opener = session_pair(s2, agent=False)
        frame = sealer.seal(b"payload")
        mutate(frame)
        with pytest.raises(EnvelopeError):
            opener.open(frame)
        sealer, _ = session_pair(s1, agent=True)


def test_replay_and_reorder_are_rejected() -> None:
    """A frame delivered twice, or before its predecessor, is rejected."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    f0, f1, f2 = sealer.seal(b"a"), sealer.seal(b"b"), sealer.seal(b"c")
    assert opener.open(f0) == b"a"
    with pytest.raises(EnvelopeError, match="replayed or reordered"):
        opener.open(f0)
    _, opener2 = session_pair(s2, agent=False)
    opener2.open(f0)
    with pytest.raises(EnvelopeError):
        opener2.open(f2)
    assert f1.seq == 1


def test_frame_from_other_session_is_rejected() -> None:
    """A frame sealed in another session (other nonces, same tenant key) fails authentication."""
    key = os.urandom(16)
    s1, _ = _pair(key)
    _, s2 = _pair(key)
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    with pytest.raises(EnvelopeError):
        opener.open(sealer.seal(b"hello"))


def test_wrong_key_id_is_rejected() -> None:
    """A frame naming another key id than the session's is rejected before anything else."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    frame = sealer.seal(b"x")
    frame.key_id = 2
    with pytest.raises(EnvelopeError, match="key id"):
        opener.open(frame)


def test_reflected_frame_is_rejected() -> None:
    """A frame the agent sent cannot be played back to the agent as if it came from the gateway."""
    s1, s2 = _pair()
    sealer, opener = session_pair(s1, agent=True)
    with pytest.raises(EnvelopeError):
        opener.open(sealer.seal(b"x"))
    del s2


def test_subkey_changes_before_8_mib() -> None:
    """No subkey encrypts more than 8 MiB: the epoch advances and the receiver follows."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    chunk = os.urandom(MAX_FRAME_BYTES)
    epochs = []
    total = 0
    for _ in range(3 * MAX_BYTES_PER_KEY // MAX_FRAME_BYTES + 2):
        frame = sealer.seal(chunk)
        epochs.append(frame.epoch)
        total += len(chunk)
        assert opener.open(frame) == chunk
    per_epoch = {e: epochs.count(e) * MAX_FRAME_BYTES for e in set(epochs)}
    assert max(per_epoch.values()) <= MAX_BYTES_PER_KEY
    assert sorted(per_epoch) == [0, 1, 2, 3]


def test_epoch_skip_is_rejected() -> None:
    """A frame claiming an epoch two ahead is rejected."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    frame = sealer.seal(b"x")
    frame.epoch = 2
    with pytest.raises(EnvelopeError, match="epoch"):
        opener.open(frame)


def test_large_bundle_is_split_and_reassembled() -> None:
    """A plaintext larger than one frame travels as several frames of at most 64 KiB and comes back whole."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    payload = os.urandom(5 * MAX_FRAME_BYTES + 123)
    frames = sealer.seal_all(payload)
    assert len(frames) == 6
    assert all(len(f.ciphertext) <= MAX_FRAME_BYTES for f in frames)
    assert [f.more for f in frames] == [True] * 5 + [False]
    r = Reassembler(opener)
    outs = [r.feed(f) for f in frames]
    assert outs[:-1] == [None] * 5
    assert outs[-1] == payload


def test_reassembly_is_capped() -> None:
    """A peer that never ends a fragmented bundle cannot make the receiver buffer without limit."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    r = Reassembler(opener, max_bytes=3 * MAX_FRAME_BYTES)
    with pytest.raises(EnvelopeError, match="larger"):
        for _ in range(10):
            r.feed(sealer.seal(b"z" * MAX_FRAME_BYTES, more=True))


def test_oversized_frame_is_refused() -> None:
    """Neither side seals nor accepts a single frame above 64 KiB."""
    s1, s2 = _pair()
    sealer, _ = session_pair(s1, agent=True)
    _, opener = session_pair(s2, agent=False)
    with pytest.raises(ValueError):
        sealer.seal(b"x" * (MAX_FRAME_BYTES + 1))
    frame = tunnel_pb2.SealedFrame(key_id=1, ciphertext=b"x" * (MAX_FRAME_BYTES + 1), tag=b"\0" * 16)
    with pytest.raises(EnvelopeError, match="exceeds"):
        opener.open(frame)

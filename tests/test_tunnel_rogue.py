"""A hand-made agent speaking the tunnel protocol directly: tampered, replayed and forged frames are rejected."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable

import grpc
import pytest
from support.rogue_agent import READY, expect_closed, handshake

from onlineconnect.testing import RunningRelay, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import tunnel_pb2, tunnel_pb2_grpc


@pytest.fixture
async def relay() -> AsyncIterator[RunningRelay]:
    """A gateway without an agent."""
    async with running_relay(FakeHandlers(), start_agent=False) as r:
        yield r


async def test_honest_handshake_registers(relay: RunningRelay) -> None:
    """The hand-made agent, done right, is registered: the harness itself is sound."""
    call, sealer, _ = await handshake(relay)
    await call.write(tunnel_pb2.ConnectRequest(sealed=sealer.seal(READY)))
    await relay.wait_tunnels(relay.tenant, 1)
    call.cancel()


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda f: setattr(f, "ciphertext", bytes([f.ciphertext[0] ^ 1]) + f.ciphertext[1:]), id="bitflip"),
        pytest.param(lambda f: setattr(f, "tag", bytes(16)), id="zero-tag"),
        pytest.param(lambda f: setattr(f, "seq", 5), id="seq-jump"),
        pytest.param(lambda f: setattr(f, "key_id", 9), id="key-id"),
    ],
)
async def test_tampered_ready_is_rejected(
    relay: RunningRelay, mutate: Callable[[tunnel_pb2.SealedFrame], None]
) -> None:
    """A tampered first frame closes the stream with PERMISSION_DENIED and nothing is registered."""
    call, sealer, _ = await handshake(relay)
    frame = sealer.seal(READY)
    mutate(frame)
    await call.write(tunnel_pb2.ConnectRequest(sealed=frame))
    assert await expect_closed(call) == grpc.StatusCode.PERMISSION_DENIED
    assert relay.gateway.registry.tunnels(relay.tenant) == []


async def test_replayed_frame_closes_the_tunnel(relay: RunningRelay) -> None:
    """Replaying a frame on a registered tunnel closes it and unregisters the agent."""
    call, sealer, _ = await handshake(relay)
    ready = sealer.seal(READY)
    await call.write(tunnel_pb2.ConnectRequest(sealed=ready))
    await relay.wait_tunnels(relay.tenant, 1)
    await call.write(tunnel_pb2.ConnectRequest(sealed=ready))
    assert await expect_closed(call) == grpc.StatusCode.PERMISSION_DENIED
    assert relay.gateway.registry.tunnels(relay.tenant) == []


async def test_frame_from_an_old_session_is_rejected(relay: RunningRelay) -> None:
    """A frame recorded in one session and played into another fails authentication."""
    call1, sealer1, _ = await handshake(relay)
    recorded = sealer1.seal(READY)
    call1.cancel()
    call2, _, _ = await handshake(relay)
    await call2.write(tunnel_pb2.ConnectRequest(sealed=recorded))
    assert await expect_closed(call2) == grpc.StatusCode.PERMISSION_DENIED


async def test_wrong_tenant_key_is_rejected(relay: RunningRelay) -> None:
    """An agent with a valid token but the wrong tenant key never gets registered."""
    call, sealer, _ = await handshake(relay, key=os.urandom(16))
    await call.write(tunnel_pb2.ConnectRequest(sealed=sealer.seal(READY)))
    assert await expect_closed(call) == grpc.StatusCode.PERMISSION_DENIED
    assert relay.gateway.registry.tunnels(relay.tenant) == []


async def test_wrong_token_is_unauthenticated(relay: RunningRelay) -> None:
    """An unknown agent token is refused at once, whether or not the hello was sent yet."""
    ch = relay.shop_channel()
    call = tunnel_pb2_grpc.TunnelServiceStub(ch).Connect(metadata=(("authorization", "Bearer nope"),))
    with contextlib.suppress(grpc.aio.AioRpcError):  # the stream may already be refused when the hello goes out
        await call.write(
            tunnel_pb2.ConnectRequest(
                hello=tunnel_pb2.AgentHello(
                    tenant=relay.tenant, key_id=1, agent_nonce=os.urandom(16), protocol_version=1
                )
            )
        )
    assert await expect_closed(call) == grpc.StatusCode.UNAUTHENTICATED
    silent = tunnel_pb2_grpc.TunnelServiceStub(ch).Connect(metadata=(("authorization", "Bearer nope"),))
    async with asyncio.timeout(1):  # no waiting for a hello that would be refused anyway
        assert await expect_closed(silent) == grpc.StatusCode.UNAUTHENTICATED


async def test_answer_to_a_call_never_issued_closes_the_tunnel(relay: RunningRelay) -> None:
    """An agent answering a call id the gateway never issued is disconnected."""
    call, sealer, _ = await handshake(relay)
    await call.write(tunnel_pb2.ConnectRequest(sealed=sealer.seal(READY)))
    await relay.wait_tunnels(relay.tenant, 1)
    forged = tunnel_pb2.TunnelBundle(
        messages=[tunnel_pb2.TunnelMessage(call_id=777, response=tunnel_pb2.AgentResponse(code=0, final=True))]
    )
    await call.write(tunnel_pb2.ConnectRequest(sealed=sealer.seal(forged.SerializeToString())))
    assert await expect_closed(call) == grpc.StatusCode.PERMISSION_DENIED
    assert relay.gateway.registry.tunnels(relay.tenant) == []

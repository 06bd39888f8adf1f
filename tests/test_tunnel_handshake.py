"""Every step of the tunnel handshake is bounded in time, and a failed handshake ends with a clear status and one
log line: no traceback, no internal type names."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from support.ops_stack import AGENT_TOKEN as DEMO_AGENT_TOKEN
from support.ops_stack import demo_stack, read_events

from onlineconnect.envelope import PROTOCOL_VERSION, SessionSecret, session_pair
from onlineconnect.testing import AGENT_TOKEN, RunningRelay, running_relay
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import tunnel_pb2, tunnel_pb2_grpc

TIMEOUT = 0.5  # the handshake timeouts of the in-process gateway here (10 s in production)
CONNECT = "/onlineconnect.v1.TunnelService/Connect"
READY = tunnel_pb2.TunnelBundle(
    messages=[tunnel_pb2.TunnelMessage(ready=tunnel_pb2.TunnelReady(protocol_version=PROTOCOL_VERSION))]
).SerializeToString()
INTERNAL_NAMES = ("ConnectRequest", "onlineconnect.v1", "DecodeError", "TimeoutError", "Traceback", "class ")


@pytest.fixture
async def relay() -> AsyncIterator[RunningRelay]:
    """A gateway without an agent whose handshake steps time out after TIMEOUT seconds."""
    async with running_relay(FakeHandlers(), start_agent=False) as r:
        r.gateway.tunnels.hello_timeout = TIMEOUT
        r.gateway.tunnels.ready_timeout = TIMEOUT
        yield r


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[list[MutableMapping[str, Any]]]:
    """The gateway's structlog events; afterwards, asserts that no standard-library record (grpc, asyncio) was
    logged at warning level or above, so no traceback reached any log."""
    caplog.set_level(logging.WARNING)
    with structlog.testing.capture_logs() as events:
        yield events
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def tunnel_events(events: list[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    """The tunnel events, with a check that none carries exception information."""
    out = [e for e in events if str(e.get("event", "")).startswith("tunnel.")]
    for e in out:
        assert "exc_info" not in e and "exception" not in e, e
    return out


def raw_connect(relay: RunningRelay, token: str = AGENT_TOKEN) -> grpc.aio.StreamStreamCall:
    """Opens Connect on a channel that sends and receives raw bytes."""
    call = relay.shop_channel().stream_stream(CONNECT)
    result: grpc.aio.StreamStreamCall = call(metadata=(("authorization", f"Bearer {token}"),))
    return result


def hello(relay: RunningRelay, nonce: bytes) -> tunnel_pb2.ConnectRequest:
    return tunnel_pb2.ConnectRequest(
        hello=tunnel_pb2.AgentHello(
            tenant=relay.tenant, agent_id="slow", key_id=1, agent_nonce=nonce, protocol_version=PROTOCOL_VERSION
        )
    )


async def status_of(call: grpc.aio.StreamStreamCall, within: float = 5.0) -> tuple[grpc.StatusCode, str]:
    """Reads until the gateway ends the stream; returns its status code and details."""
    async with asyncio.timeout(within):
        try:
            while await call.read() is not grpc.aio.EOF:
                pass
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
        return await call.code(), await call.details()


async def test_no_hello_ends_with_deadline_exceeded_and_one_line(
    relay: RunningRelay, logs: list[MutableMapping[str, Any]]
) -> None:
    """A Connect that never sends AgentHello ends with DEADLINE_EXCEEDED after the hello timeout, logged once."""
    started = time.monotonic()
    code, details = await status_of(raw_connect(relay))
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert details == f"no AgentHello within {TIMEOUT:g} s"
    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 2
    assert [(e["event"], e["log_level"], e["reason"]) for e in tunnel_events(logs)] == [
        ("tunnel.refused", "warning", details)
    ]
    assert relay.gateway.tunnels.handshaking == 0


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(b"\xff\xff\xff\xff", id="garbage"),
        pytest.param(b"\x0a\x05\x0a", id="truncated"),
        pytest.param(os.urandom(300), id="random"),
    ],
)
async def test_garbage_first_frame_is_invalid_argument(
    relay: RunningRelay, logs: list[MutableMapping[str, Any]], frame: bytes
) -> None:
    """Bytes that are no tunnel frame end the stream with INVALID_ARGUMENT "malformed tunnel frame", naming no
    internal type, logged once."""
    call = raw_connect(relay)
    await call.write(frame)
    code, details = await status_of(call)
    if code == grpc.StatusCode.INVALID_ARGUMENT and details == "the first frame must be AgentHello":
        return  # random bytes that happen to decode as a frame without a hello
    assert (code, details) == (grpc.StatusCode.INVALID_ARGUMENT, "malformed tunnel frame")
    assert not any(name in details for name in INTERNAL_NAMES)
    assert [e["reason"] for e in tunnel_events(logs)] == ["malformed tunnel frame"]


async def test_stream_ended_before_hello_is_one_line(relay: RunningRelay, logs: list[MutableMapping[str, Any]]) -> None:
    """A Connect closed without any frame ends with INVALID_ARGUMENT and one log line."""
    call = raw_connect(relay)
    await call.done_writing()
    assert await status_of(call) == (grpc.StatusCode.INVALID_ARGUMENT, "the first frame must be AgentHello")
    assert len(tunnel_events(logs)) == 1


async def test_agent_of_another_protocol_version_is_refused_naming_both(
    relay: RunningRelay, logs: list[MutableMapping[str, Any]]
) -> None:
    """An agent speaking tunnel protocol 1 (calls in per-RPC oneof fields) is refused with FAILED_PRECONDITION
    naming its version and the gateway's, never registered, logged once."""
    stub = tunnel_pb2_grpc.TunnelServiceStub(relay.shop_channel())
    call = stub.Connect(metadata=(("authorization", f"Bearer {AGENT_TOKEN}"),))
    old = hello(relay, os.urandom(16))
    old.hello.protocol_version = 1
    await call.write(old)
    code, details = await status_of(call)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert details.startswith(f"tunnel protocol 1 not supported; this gateway speaks {PROTOCOL_VERSION}")
    assert PROTOCOL_VERSION == 2
    assert [e["reason"] for e in tunnel_events(logs)] == [details]
    assert relay.gateway.tunnels.handshaking == 0


async def test_token_without_the_key_is_dropped_after_the_welcome(
    relay: RunningRelay, logs: list[MutableMapping[str, Any]]
) -> None:
    """An agent with a valid token that never proves the tenant key (no TunnelReady) is dropped with
    DEADLINE_EXCEEDED after the ready timeout, never registered, logged once."""
    stub = tunnel_pb2_grpc.TunnelServiceStub(relay.shop_channel())
    call = stub.Connect(metadata=(("authorization", f"Bearer {AGENT_TOKEN}"),))
    await call.write(hello(relay, os.urandom(16)))
    first = await call.read()
    assert first.HasField("welcome")
    code, details = await status_of(call)
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert details == f"no TunnelReady within {TIMEOUT:g} s of GatewayWelcome"
    assert relay.gateway.registry.tunnels(relay.tenant) == []
    assert [e["event"] for e in tunnel_events(logs)] == ["tunnel.refused"]
    assert relay.gateway.tunnels.handshaking == 0


async def test_many_held_handshakes_are_all_closed(relay: RunningRelay, logs: list[MutableMapping[str, Any]]) -> None:
    """45 sessions held after the welcome and 45 streams without a hello (one connection's worth) are all closed
    within the timeouts."""
    stub = tunnel_pb2_grpc.TunnelServiceStub(relay.shop_channel())
    held = []
    for _ in range(45):
        call = stub.Connect(metadata=(("authorization", f"Bearer {AGENT_TOKEN}"),))
        await call.write(hello(relay, os.urandom(16)))
        assert (await call.read()).HasField("welcome")
        held.append(call)
    silent = [raw_connect(relay) for _ in range(45)]
    assert relay.gateway.tunnels.handshaking > 0
    codes = await asyncio.gather(*(status_of(c, within=TIMEOUT + 5) for c in held + silent))
    assert {c for c, _ in codes} == {grpc.StatusCode.DEADLINE_EXCEEDED}
    assert relay.gateway.tunnels.handshaking == 0
    assert len(tunnel_events(logs)) == 90


async def test_unsealed_frame_instead_of_ready_is_invalid_argument(
    relay: RunningRelay, logs: list[MutableMapping[str, Any]]
) -> None:
    """A second AgentHello (or anything unsealed) where TunnelReady belongs ends with INVALID_ARGUMENT."""
    stub = tunnel_pb2_grpc.TunnelServiceStub(relay.shop_channel())
    call = stub.Connect(metadata=(("authorization", f"Bearer {AGENT_TOKEN}"),))
    await call.write(hello(relay, os.urandom(16)))
    await call.read()
    await call.write(hello(relay, os.urandom(16)))
    assert (await status_of(call))[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert len(tunnel_events(logs)) == 1


async def test_garbage_after_registration_closes_the_tunnel_cleanly(
    relay: RunningRelay, logs: list[MutableMapping[str, Any]]
) -> None:
    """Garbage bytes on a registered tunnel close it with INVALID_ARGUMENT "malformed tunnel frame", without a
    traceback."""
    call = raw_connect(relay)
    nonce = os.urandom(16)
    await call.write(hello(relay, nonce).SerializeToString())
    welcome = tunnel_pb2.ConnectResponse.FromString(await call.read()).welcome
    sealer, _ = session_pair(SessionSecret(1, relay.key, nonce, welcome.gateway_nonce), agent=True)
    await call.write(tunnel_pb2.ConnectRequest(sealed=sealer.seal(READY)).SerializeToString())
    await relay.wait_tunnels(relay.tenant, 1)
    await call.write(b"\xff\xff\xff")
    assert await status_of(call) == (grpc.StatusCode.INVALID_ARGUMENT, "tunnel closed: malformed tunnel frame")
    assert relay.gateway.registry.tunnels(relay.tenant) == []
    events = [e["event"] for e in tunnel_events(logs)]
    assert events.count("tunnel.rejected") == 1 and "tunnel.broken" not in events


async def test_the_real_agent_still_connects(relay: RunningRelay) -> None:
    """The agent's own handshake completes well within the timeouts."""
    await relay.start_agent()
    assert len(relay.gateway.registry.tunnels(relay.tenant)) == 1


def test_gateway_process_logs_one_line_per_failed_handshake(tmp_path: Path) -> None:
    """Against the gateway process: no hello (10 s), garbage, a wrong token and a held welcome each end with a
    clear status and exactly one log line; the log has no traceback and no internal type names."""
    with demo_stack(tmp_path, agent=False, metrics=False) as stack:
        before = len(stack.gateway_log.read_text().splitlines())

        async def run() -> list[tuple[grpc.StatusCode, str]]:
            async with grpc.aio.insecure_channel(stack.address) as ch:
                connect = ch.stream_stream(CONNECT)

                def opened(token: str = DEMO_AGENT_TOKEN) -> grpc.aio.StreamStreamCall:
                    call: grpc.aio.StreamStreamCall = connect(metadata=(("authorization", f"Bearer {token}"),))
                    return call

                silent = opened()
                garbage = opened()
                await garbage.write(b"\xff\xff\xff\xff")
                wrong = opened("wrong-token")  # refused before any frame
                nonce = os.urandom(16)
                hello_frame = tunnel_pb2.ConnectRequest(
                    hello=tunnel_pb2.AgentHello(
                        tenant="demo", agent_id="x", key_id=1, agent_nonce=nonce, protocol_version=PROTOCOL_VERSION
                    )
                )
                held = opened()
                await held.write(hello_frame.SerializeToString())
                assert tunnel_pb2.ConnectResponse.FromString(await held.read()).HasField("welcome")
                return list(await asyncio.gather(*(status_of(c, within=20) for c in (silent, garbage, wrong, held))))

        statuses = asyncio.run(run())
        time.sleep(0.3)  # the log lines are flushed right after the statuses went out
        text = stack.gateway_log.read_text()
    assert statuses == [
        (grpc.StatusCode.DEADLINE_EXCEEDED, "no AgentHello within 10 s"),
        (grpc.StatusCode.INVALID_ARGUMENT, "malformed tunnel frame"),
        (grpc.StatusCode.UNAUTHENTICATED, "invalid agent token"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "no TunnelReady within 10 s of GatewayWelcome"),
    ]
    new_lines = text.splitlines()[before:]
    events = [e for e in read_events(stack.gateway_log) if str(e.get("event", "")).startswith("tunnel.")]
    assert sorted(e["reason"] for e in events) == sorted(details for _, details in statuses)
    assert all(e["event"] == "tunnel.refused" for e in events)
    handshake_lines = [ln for ln in new_lines if "tunnel." in ln]
    assert len(handshake_lines) == 4
    assert not any(name in text for name in ("Traceback", "ConnectRequest", "DecodeError", "TimeoutError"))

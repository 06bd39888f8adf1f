"""A hand-made rogue gateway against the real agent: a frame that fails to open ends the session, nothing is answered.

The gateway side of the rule (tests/test_tunnel_rogue.py) uses a hand-made agent; here the roles are swapped. The
rogue gateway is a real ``grpc.aio`` server on ``127.0.0.1:0`` that implements ``TunnelService.Connect`` by hand
with the envelope primitives, completes the handshake with the agent's real :class:`Connector` and
:class:`TunnelSession`, has one request answered (the harness is sound), and then sends a frame that must not open:
tampered, replayed, or sealed with another key. Right behind it comes the very frame an agent that carried on would
accept (the honest frame, or the honest next one): if the agent skipped the bad frame and went on reading, it would
answer that request and the test fails. The agent must instead end the stream itself and dial again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from onlineconnect.agent.connector import Connector
from onlineconnect.agent.session import TunnelSession
from onlineconnect.calls import CALLS
from onlineconnect.envelope import NONCE_BYTES, PROTOCOL_VERSION, Opener, Sealer, SessionSecret, session_pair
from onlineconnect.testing.fakes import FakeHandlers
from onlineconnect.v1 import orders_pb2, tunnel_pb2, tunnel_pb2_grpc

KEY_ID = 1
TENANT = "demo"


def bundle(*messages: tunnel_pb2.TunnelMessage) -> bytes:
    """Encodes messages as one TunnelBundle plaintext."""
    return tunnel_pb2.TunnelBundle(messages=list(messages)).SerializeToString()


GET_ORDER = orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005").SerializeToString()


def request(call_id: int, method: str = "/onlineconnect.v1.OrderService/GetOrder", payload: bytes = GET_ORDER) -> bytes:
    """A request as a bundle plaintext: by default GetOrder for the one order the fake handlers know."""
    req = tunnel_pb2.AgentRequest(
        request_id=f"rogue-{call_id}", deadline_ms=5000, shop="shop", method=method, request=payload
    )
    return bundle(tunnel_pb2.TunnelMessage(call_id=call_id, request=req))


READY = bundle(tunnel_pb2.TunnelMessage(ready=tunnel_pb2.TunnelReady(protocol_version=PROTOCOL_VERSION)))


@dataclass
class RogueSession:
    """One Connect stream as the rogue gateway sees it."""

    context: Any
    secret: SessionSecret
    sealer: Sealer
    opener: Opener
    inbox: asyncio.Queue[tunnel_pb2.TunnelMessage] = field(default_factory=asyncio.Queue)
    responses: dict[int, list[tunnel_pb2.AgentResponse]] = field(default_factory=dict)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    ended_by: str = ""

    async def send(self, frame: tunnel_pb2.SealedFrame | tunnel_pb2.ConnectResponse) -> None:
        """Writes one sealed frame (or a raw ConnectResponse) to the agent; ignored once the agent has gone."""
        msg = frame if isinstance(frame, tunnel_pb2.ConnectResponse) else tunnel_pb2.ConnectResponse(sealed=frame)
        with contextlib.suppress(Exception):
            await self.context.write(msg)

    async def next_message(self) -> tunnel_pb2.TunnelMessage:
        """The next message the agent sent on this stream."""
        async with asyncio.timeout(5):
            return await self.inbox.get()


class RogueGateway(tunnel_pb2_grpc.TunnelServiceServicer):
    """Completes the handshake honestly, then leaves every sealed frame to the test."""

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.sessions: asyncio.Queue[RogueSession] = asyncio.Queue()
        self.connects = 0

    async def Connect(self, request_iterator: Any, context: Any) -> None:
        self.connects += 1
        first = await context.read()
        hello = first.hello
        gateway_nonce = os.urandom(NONCE_BYTES)
        await context.write(
            tunnel_pb2.ConnectResponse(
                welcome=tunnel_pb2.GatewayWelcome(
                    session_id=f"rogue-{self.connects}", gateway_nonce=gateway_nonce, key_id=hello.key_id
                )
            )
        )
        secret = SessionSecret(hello.key_id, self.key, hello.agent_nonce, gateway_nonce)
        sealer, opener = session_pair(secret, agent=False)
        session = RogueSession(context, secret, sealer, opener)
        self.sessions.put_nowait(session)
        try:
            while True:
                msg = await context.read()
                if msg is grpc.aio.EOF:
                    session.ended_by = "agent half-closed"
                    return
                # The agent's frames here are small single-frame bundles.
                for m in tunnel_pb2.TunnelBundle.FromString(opener.open(msg.sealed)).messages:
                    if m.WhichOneof("body") == "response":
                        session.responses.setdefault(m.call_id, []).append(m.response)
                    session.inbox.put_nowait(m)
        except asyncio.CancelledError:
            session.ended_by = "agent cancelled"
            raise
        except grpc.aio.AioRpcError as exc:
            session.ended_by = f"agent ended: {exc.code().name}"
        finally:
            session.closed.set()


@dataclass
class Harness:
    """The rogue gateway and the real agent connector dialling it."""

    gateway: RogueGateway
    connector: Connector
    states: list[tuple[str, str]]

    async def session(self) -> RogueSession:
        """The next Connect stream, after the agent's sealed TunnelReady arrived and was answered in kind."""
        async with asyncio.timeout(10):
            s = await self.gateway.sessions.get()
        first = await s.next_message()
        assert first.WhichOneof("body") == "ready"
        await s.send(s.sealer.seal(READY))
        return s


@contextlib.asynccontextmanager
async def rogue_harness() -> AsyncIterator[Harness]:
    """Starts the rogue gateway on 127.0.0.1:0 and a real agent connector (fake ERP handlers) dialling it."""
    key = os.urandom(16)
    gateway = RogueGateway(key)
    server = grpc.aio.server()
    tunnel_pb2_grpc.add_TunnelServiceServicer_to_server(gateway, server)  # type: ignore[no-untyped-call]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    states: list[tuple[str, str]] = []

    def make() -> TunnelSession:
        return TunnelSession(
            tenant=TENANT, agent_id="agent", token="t", key_id=KEY_ID, key=key, handlers=FakeHandlers()
        )

    connector = Connector(
        f"127.0.0.1:{port}",
        make,
        credentials=None,
        initial_backoff=0.05,
        max_backoff=0.2,
        on_state=lambda state, detail: states.append((state, detail)),
    )
    task = asyncio.create_task(connector.run())
    try:
        yield Harness(gateway, connector, states)
    finally:
        connector.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await server.stop(0)


async def answered(s: RogueSession, call_id: int) -> tunnel_pb2.AgentResponse:
    """Waits for the agent's answer to ``call_id`` on session ``s``."""
    async with asyncio.timeout(5):
        while call_id not in s.responses:
            await s.next_message()
    return s.responses[call_id][0]


def bad_frames(
    kind: str, s: RogueSession, honest_first: tunnel_pb2.SealedFrame
) -> list[tunnel_pb2.SealedFrame | tunnel_pb2.ConnectResponse]:
    """The bad frame for ``kind``, followed by the frame an agent that carried on would accept and answer.

    Every bad frame (an unsealed one included) is rejected before the agent's opener moves on (neither sequence
    number nor cipher state advance), so the follow-up is exactly the frame the agent still expects next: call 2 at
    sequence number 2.
    """
    if kind == "tampered":
        honest = s.sealer.seal(request(2))
        tampered = tunnel_pb2.SealedFrame()
        tampered.CopyFrom(honest)
        tampered.ciphertext = bytes([honest.ciphertext[0] ^ 0x01]) + honest.ciphertext[1:]
        return [tampered, honest]
    if kind == "replayed":
        return [honest_first, s.sealer.seal(request(2))]
    if kind == "wrong-key":
        wrong = SessionSecret(KEY_ID, os.urandom(16), s.secret.agent_nonce, s.secret.gateway_nonce)
        forger, _ = session_pair(wrong, agent=False)
        for _ in range(2):  # bring the forger to the same sequence number as the honest sealer
            forger.seal(b"")
        return [forger.seal(request(2)), s.sealer.seal(request(2))]
    if kind == "unsealed":
        welcome = tunnel_pb2.GatewayWelcome(session_id="again", gateway_nonce=os.urandom(NONCE_BYTES))
        return [tunnel_pb2.ConnectResponse(welcome=welcome), s.sealer.seal(request(2))]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["tampered", "replayed", "wrong-key", "unsealed"])
async def test_frame_that_fails_to_open_ends_the_session_and_the_agent_reconnects(kind: str) -> None:
    """A tampered, replayed, wrongly keyed or unsealed frame makes the agent close the stream unanswered and redial."""
    async with rogue_harness() as h:
        s = await h.session()
        first = s.sealer.seal(request(1))
        await s.send(first)
        assert (await answered(s, 1)).code == 0  # the harness is sound: an honest request is answered

        for frame in bad_frames(kind, s, first):
            await s.send(frame)

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                while not s.closed.is_set() and 2 not in s.responses and len(s.responses[1]) == 1:
                    await asyncio.sleep(0.01)
        assert 2 not in s.responses, "the agent answered a request after a frame that failed to open"
        assert len(s.responses[1]) == 1, "the agent answered a replayed request twice"
        assert s.closed.is_set(), "the agent kept the stream open after a frame that failed to open"
        assert s.ended_by.startswith("agent"), s.ended_by

        again = await h.session()  # the agent dialled again and completed a new handshake
        assert again is not s and h.gateway.connects == 2
        reasons = [detail for state, detail in h.states if state == "disconnected"]
        assert reasons and reasons[0].startswith("rejected frame from gateway"), reasons
        # The new session serves normally.
        await again.send(again.sealer.seal(request(7)))
        assert (await answered(again, 7)).code == 0


async def test_unknown_method_or_malformed_request_is_answered_and_the_session_goes_on() -> None:
    """A method the agent does not know (a newer gateway's RPC) is answered UNAVAILABLE "update it", a request that
    does not decode as the method's input type INVALID_ARGUMENT; neither ends the session."""
    async with rogue_harness() as h:
        s = await h.session()
        await s.send(s.sealer.seal(request(1, method="/onlineconnect.v1.OrderService/GetOrderV2")))
        unknown = await answered(s, 1)
        assert (unknown.code, unknown.final) == (grpc.StatusCode.UNAVAILABLE.value[0], True)
        assert "does not support the requested call; update it" in unknown.message
        assert not unknown.result
        await s.send(s.sealer.seal(request(2, payload=b"\xff\xff\xff")))
        malformed = await answered(s, 2)
        assert malformed.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
        assert malformed.message == "malformed GetOrderRequest"
        await s.send(s.sealer.seal(request(3)))
        ok = await answered(s, 3)
        assert ok.code == 0 and orders_pb2.GetOrderResponse.FromString(ok.result).order.summary.order_number
        assert not s.closed.is_set()


async def test_random_methods_and_request_bytes_are_answered_with_a_clear_status() -> None:
    """Fuzz of the agent's dispatch: 300 requests naming known, unknown and garbled methods with random bytes as
    the request each get one final answer with a clear status (never INTERNAL), and the session serves on."""
    rnd = random.Random(16)
    known = [c.path for c in CALLS]
    clear = {grpc.StatusCode[c].value[0] for c in ("OK", "INVALID_ARGUMENT", "NOT_FOUND", "UNAVAILABLE")}
    async with rogue_harness() as h:
        s = await h.session()
        for call_id in range(1, 301):
            method = rnd.choice(
                [
                    rnd.choice(known),
                    rnd.choice(known) + "x",
                    rnd.choice(known).lower(),
                    "/" + "".join(rnd.choice("abc./\x00é") for _ in range(rnd.randrange(30))),
                    "",
                ]
            )
            payload = rnd.randbytes(rnd.randrange(0, 200))
            await s.send(s.sealer.seal(request(call_id, method=method, payload=payload)))
            answers = []
            while not answers or not answers[-1].final:
                answers.append(await answered_next(s, call_id, len(answers)))
            assert answers[-1].code in clear, (method, payload, answers[-1])
        await s.send(s.sealer.seal(request(301)))
        assert (await answered(s, 301)).code == 0
        assert not s.closed.is_set()


async def answered_next(s: RogueSession, call_id: int, index: int) -> tunnel_pb2.AgentResponse:
    """Waits for the agent's answer number ``index`` (from 0) to ``call_id`` on session ``s``."""
    async with asyncio.timeout(5):
        while len(s.responses.get(call_id, [])) <= index:
            await s.next_message()
    return s.responses[call_id][index]


async def test_drain_after_the_gateway_vanished_does_not_crash_the_agent() -> None:
    """SIGTERM while the gateway is already gone: gRPC refuses the stream's half-close with an InternalError
    (ExecuteBatchError); draining takes that as nothing left to flush instead of ending the process with a
    traceback (exit code 1)."""
    from grpc._cython import cygrpc

    class VanishedCall:
        def done(self) -> bool:
            return False

        async def done_writing(self) -> None:
            raise cygrpc.ExecuteBatchError('Failed "execute_batch"')

    session = TunnelSession(
        tenant=TENANT, agent_id="a", token="t", key_id=KEY_ID, key=bytes(16), handlers=FakeHandlers()
    )
    session._call = VanishedCall()  # type: ignore[assignment]
    await session.drain(0.1)

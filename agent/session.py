"""One tunnel session of the agent: handshake, then serve requests until the stream ends.

The session reads frames in one loop and starts a task per request, so a slow query never blocks a fast one.
Answers go through the session's single writer task (:class:`onlineconnect.link.SealedLink`). A ``CancelCall``
from the gateway cancels the request's task; a streaming answer waits for credits (``WindowUpdate``) so a slow
shop cannot make the agent read a whole PDF into memory.

A ``Drain`` from the gateway (the tunnel's key id was retired, or its token changed) makes the session finish its
requests and end the stream; the connector then dials again with the configuration in force — after a key
rotation, with the new key. Every answered request is appended to the audit log (:mod:`.audit`) if one is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import Any

import grpc
import structlog
from google.protobuf.message import DecodeError

from onlineconnect import wire
from onlineconnect.calls import BY_PATH, Call
from onlineconnect.envelope import NONCE_BYTES, PROTOCOL_VERSION, SessionSecret, new_nonce, session_pair
from onlineconnect.errors import DeadlineExceeded, EnvelopeError, InvalidArgument, OnlineConnectError, Unavailable
from onlineconnect.link import READY, SealedLink
from onlineconnect.v1 import orders_pb2, tunnel_pb2, tunnel_pb2_grpc

from . import audit as _audit
from .context import CallContext
from .handlers import Handlers

log = structlog.get_logger("onlineconnect.agent.session")

# Outcomes of a request that are the shop's business, not the operator's: logged at debug.
_ROUTINE = frozenset({"OK", "NOT_FOUND", "INVALID_ARGUMENT", "PERMISSION_DENIED", "CANCELLED"})
_OK_FINAL = tunnel_pb2.AgentResponse(code=0, final=True).SerializeToString()
_OK_MORE = tunnel_pb2.AgentResponse(code=0, final=False).SerializeToString()


class HandshakeError(Exception):
    """The gateway refused the tunnel or answered the handshake wrongly. ``retry`` says whether to try again."""

    def __init__(self, message: str, *, retry: bool = True, unreachable: bool = False) -> None:
        super().__init__(message)
        self.retry = retry
        self.unreachable = unreachable  # no gateway answered at all (network, proxy, TLS): the cause needs a probe


class _Credits:
    """Flow-control credits of one streaming answer."""

    def __init__(self, initial: int) -> None:
        self.value = initial
        self.event = asyncio.Event()
        if initial > 0:
            self.event.set()

    def add(self, n: int) -> None:
        self.value += n
        if self.value > 0:
            self.event.set()

    async def take(self) -> None:
        while self.value <= 0:
            self.event.clear()
            await self.event.wait()
        self.value -= 1


class TunnelSession:
    """The agent's side of one Connect stream."""

    def __init__(
        self,
        *,
        tenant: str,
        agent_id: str,
        token: str,
        key_id: int,
        key: bytes,
        handlers: Handlers,
        version: str = "",
        audit: _audit.AuditLog | None = None,
    ) -> None:
        self.tenant = tenant
        self.agent_id = agent_id
        self.token = token
        self.key_id = key_id
        self.key = key
        self.handlers = handlers
        self.version = version
        self.tasks: dict[int, asyncio.Task[None]] = {}
        self.credits: dict[int, _Credits] = {}
        self.ready = asyncio.Event()
        self.drain_requested = asyncio.Event()
        self.clock_offset: float | None = None  # seconds the gateway's clock is ahead of ours (from the welcome)
        self.avoid_seconds = 0.0  # a gateway that is shutting down asked not to be dialled for this long
        self.session_id = ""
        self.link: SealedLink | None = None
        self.accepting = True
        self._writer: asyncio.Task[None] | None = None
        self.audit = audit  # None: no audit log
        self._call: Any = None
        self._leaving: asyncio.Task[None] | None = None

    async def run(self, channel: grpc.aio.Channel) -> str:
        """Runs the session on ``channel`` until the stream ends; returns why it ended.

        Raises:
            HandshakeError: the gateway refused the agent (bad token, unknown key id, ...).
        """
        stub = tunnel_pb2_grpc.TunnelServiceStub(channel)  # type: ignore[no-untyped-call]
        call = self._call = stub.Connect(metadata=(("authorization", f"Bearer {self.token}"),))
        nonce = new_nonce()
        try:
            await call.write(
                tunnel_pb2.ConnectRequest(
                    hello=tunnel_pb2.AgentHello(
                        tenant=self.tenant,
                        agent_id=self.agent_id,
                        key_id=self.key_id,
                        agent_nonce=nonce,
                        protocol_version=PROTOCOL_VERSION,
                        agent_version=self.version,
                    )
                )
            )
            sent_at = time.time()
            first = await call.read()
            received_at = time.time()
        except grpc.aio.AioRpcError as exc:
            raise _handshake_error(exc) from exc
        if first is grpc.aio.EOF:
            status = await call.code()
            raise HandshakeError(f"gateway closed the stream during the handshake ({status.name})")
        if not first.HasField("welcome") or len(first.welcome.gateway_nonce) != NONCE_BYTES:
            call.cancel()
            raise HandshakeError("gateway answered the handshake with an unexpected frame")
        welcome = first.welcome
        self.session_id = welcome.session_id
        if welcome.gateway_time_unix_ms:  # the gateway's clock minus ours, at the middle of the round trip
            self.clock_offset = welcome.gateway_time_unix_ms / 1000 - (sent_at + received_at) / 2
        secret = SessionSecret(key_id=self.key_id, key=self.key, agent_nonce=nonce, gateway_nonce=welcome.gateway_nonce)
        sealer, opener = session_pair(secret, agent=True)

        async def write(frame: tunnel_pb2.SealedFrame) -> None:
            await call.write(tunnel_pb2.ConnectRequest(sealed=frame))

        link = self.link = SealedLink(sealer, opener, write)
        writer = self._writer = asyncio.create_task(link.run_writer(), name=f"agent-writer-{self.session_id}")
        link.send(READY)
        reason = "gateway closed the stream"

        async def read() -> tunnel_pb2.ConnectResponse | None:
            nonlocal reason
            try:
                frame = await call.read()
            except grpc.aio.AioRpcError as exc:
                reason = f"stream failed: {exc.code().name} {exc.details() or ''}".strip()
                return None
            return None if frame is grpc.aio.EOF else frame

        try:
            await link.pump(read, self._dispatch)
        except EnvelopeError as exc:
            reason = f"rejected frame from gateway: {exc.message}"
            log.warning("tunnel.rejected", session=self.session_id, reason=exc.message)
            call.cancel()
        finally:
            for task in list(self.tasks.values()):
                task.cancel()
            if self._leaving is not None:
                self._leaving.cancel()
            writer.cancel()
            self.ready.clear()
            if not call.done():
                call.cancel()
        return reason

    def _dispatch(self, plaintext: bytes) -> None:
        for msg in tunnel_pb2.TunnelBundle.FromString(plaintext).messages:
            kind = msg.WhichOneof("body")
            if kind == "request":
                self._start(msg.call_id, msg.request)
            elif kind == "cancel":
                task = self.tasks.get(msg.call_id)
                if task is not None:
                    task.cancel()
            elif kind == "window_update":
                credits = self.credits.get(msg.call_id)
                if credits is not None:
                    credits.add(msg.window_update.credits)
            elif kind == "ready":
                self.ready.set()
                log.info("tunnel.ready", tenant=self.tenant, session=self.session_id)
            elif kind == "drain":
                log.info(
                    "tunnel.drain_requested",
                    session=self.session_id,
                    reason=msg.drain.reason,
                    avoid_seconds=msg.drain.avoid_seconds,
                )
                self.avoid_seconds = float(msg.drain.avoid_seconds)
                self.drain_requested.set()
                if self._leaving is None:
                    self._leaving = asyncio.create_task(self._leave(), name=f"agent-leave-{self.session_id}")

    def _start(self, call_id: int, request: tunnel_pb2.AgentRequest) -> None:
        call = BY_PATH.get(request.method)
        if call is None:  # a newer gateway's RPC
            self._send_error(call_id, Unavailable("this agent does not support the requested call; update it"))
            return
        if not self.accepting:
            self._send_error(call_id, Unavailable("agent is shutting down"))
            return
        try:
            inner = call.request_type.FromString(request.request)
        except DecodeError:
            self._send_error(call_id, InvalidArgument(f"malformed {call.request_type.DESCRIPTOR.name}"))
            return
        deadline = time.monotonic() + request.deadline_ms / 1000 if request.deadline_ms else None
        ctx = CallContext(tenant=self.tenant, shop=request.shop, request_id=request.request_id, deadline=deadline)
        task = asyncio.create_task(self._serve(call_id, call, inner, ctx, request.initial_window))
        self.tasks[call_id] = task
        task.add_done_callback(functools.partial(self._finished, call_id))

    def _finished(self, call_id: int, _task: object = None) -> None:
        self.tasks.pop(call_id, None)
        self.credits.pop(call_id, None)

    def _send_error(self, call_id: int, exc: OnlineConnectError) -> None:
        if self.link is None:
            return
        resp = tunnel_pb2.AgentResponse(code=exc.code.value[0], message=exc.message, final=True)
        self.link.send(tunnel_pb2.TunnelMessage(call_id=call_id, response=resp).SerializeToString())

    async def _serve(self, call_id: int, call: Call, request: Any, ctx: CallContext, window: int) -> None:
        assert self.link is not None
        link = self.link
        started = time.perf_counter()
        code = "OK"
        log_ = log.bind(tenant=self.tenant, request_id=ctx.request_id, rpc=call.method, call=call_id)
        try:
            left = ctx.remaining()
            async with asyncio.timeout(left if left is not None else None):
                if call.streaming:
                    credits = self.credits[call_id] = _Credits(window or 1)
                    async for chunk in self.handlers.stream(call, request, ctx):
                        await credits.take()
                        link.send(wire.response_message(call_id, _OK_MORE, chunk.SerializeToString()))
                    link.send(
                        tunnel_pb2.TunnelMessage(
                            call_id=call_id, response=tunnel_pb2.AgentResponse(code=0, final=True)
                        ).SerializeToString()
                    )
                else:
                    result = await self.handlers.unary(call, request, ctx)
                    link.send(wire.response_message(call_id, _OK_FINAL, result.SerializeToString()))
        except TimeoutError:
            code = "DEADLINE_EXCEEDED"
            self._send_error(call_id, DeadlineExceeded("the ERP did not answer within the deadline"))
        except OnlineConnectError as exc:
            code = exc.code.name
            self._send_error(call_id, exc)
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        except Exception:
            code = "INTERNAL"
            log_.exception("request.failed")
            self._send_error(call_id, OnlineConnectError("the agent failed to answer; see the agent's log"))
        finally:
            ms = round((time.perf_counter() - started) * 1000, 2)
            # One line per request is an access log: at debug, unless the agent itself failed to answer.
            (log_.debug if code in _ROUTINE else log_.info)("request.answered", code=code, ms=ms)
            if self.audit is not None:
                self.audit.record(
                    tenant=ctx.tenant,
                    shop=ctx.shop,
                    rpc=call.method,
                    customer=str(getattr(request, "customer_number", "")),
                    code=code,
                    ms=ms,
                    request_id=ctx.request_id,
                    order=_guest_order_number(request),
                )

    async def _leave(self) -> None:
        """Answers what is in flight, then ends the stream so the connector reconnects (gateway's Drain)."""
        await self.drain(5.0)

    async def drain(self, grace: float) -> None:
        """Stops taking new requests and waits up to ``grace`` seconds for in-flight ones to finish."""
        self.accepting = False
        pending = [t for t in self.tasks.values() if not t.done()]
        if pending:
            log.info("agent.draining", in_flight=len(pending), grace=grace)
            await asyncio.wait(pending, timeout=grace)
        if self.link is not None and self._writer is not None and not self._writer.done():
            self.link.close()  # the writer flushes the last answers, then stops
            await asyncio.wait([self._writer], timeout=2.0)
        if self._call is not None and not self._call.done():
            # Half-close instead of cancelling: frames already written still reach the gateway, which then ends
            # the stream; a cancel would discard whatever the transport has not sent yet. A stream whose connection
            # is already gone (the gateway stopped first) refuses the half-close with an InternalError: nothing is
            # left to flush then.
            with contextlib.suppress(grpc.aio.UsageError, grpc.aio.AioRpcError, grpc.aio.InternalError):
                await self._call.done_writing()


def _guest_order_number(request: Any) -> str | None:
    """The order number a guest lookup asked for (for the audit line), None for every other call.

    Only the number: the postcode, last name and e-mail of the request never reach the audit log.
    """
    if not isinstance(request, orders_pb2.LookupGuestOrderRequest):
        return None
    return request.order_number[:32]


_TRANSPORT_WORDS = (
    "failed to connect",
    "connect failed",
    "handshake",
    "ssl",
    "tsi_",
    "socket",
    "dns",
    "proxy",
    "connection",
    "unreachable",
    "resolve",
    "tcp",
)


def _handshake_error(exc: grpc.aio.AioRpcError) -> HandshakeError:
    code = exc.code()
    retry = code not in {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
    details = exc.details() or ""
    if code == grpc.StatusCode.UNAVAILABLE and any(w in details.lower() for w in _TRANSPORT_WORDS):
        # gRPC's own words for a connection that never carried an answer (gateway down, proxy, TLS, DNS): not a
        # refusal by the gateway, and the connector probes the network to name the cause.
        return HandshakeError(f"could not reach the gateway: {details}", unreachable=True)
    return HandshakeError(f"gateway refused the tunnel: {code.name}: {exc.details()}", retry=retry)

"""The gateway's end of one agent tunnel: forwards calls, matches answers by call id, fails them when it drops.

An :class:`AgentTunnel` exists from the moment an agent proved it holds the tenant key until its stream ends.
Calls are forwarded as encoded ``TunnelMessage`` bytes naming the RPC by its method path (the shop's request is
spliced in as it arrived, never re-encoded) and their answers are matched by call id; an answer's result stays
encoded bytes (``AgentResponse.result``) until the shop receives it. When the stream ends for any reason, every
call still waiting fails at once with ``UNAVAILABLE`` — never a hang until the deadline, never ``CANCELLED``.

The agent is held to what it was granted (as in grpctunnel's ``flow_control.go``): a streaming call may have at
most :data:`STREAM_WINDOW` parts outstanding beyond the credits the gateway returned, each at most
:data:`MAX_PART_BYTES`, and a unary answer at most :data:`MAX_ANSWER_BYTES`. An agent that sends past that is
broken or rogue: :meth:`AgentTunnel.deliver` raises :class:`~onlineconnect.errors.EnvelopeError`, which ends the
tunnel as a protocol violation, so no agent can make the gateway buffer more than its windows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import structlog

from onlineconnect import wire
from onlineconnect.calls import Call
from onlineconnect.errors import DeadlineExceeded, EnvelopeError, Unavailable
from onlineconnect.link import SealedLink
from onlineconnect.v1 import tunnel_pb2

log = structlog.get_logger("onlineconnect.gateway.tunnel")

STREAM_WINDOW = 32  # chunks of a streaming answer the agent may send ahead of the shop (≈ 2 MiB of PDF)
CREDIT_BATCH = 8  # credits go back in batches: one small frame per 8 chunks instead of one per chunk
MAX_PART_BYTES = 256 * 1024  # one part of a streaming answer (the agent sends 64 KiB PDF chunks)
MAX_ANSWER_BYTES = 4 * 1024 * 1024  # a unary answer; gRPC clients refuse larger messages by default anyway

_CANCEL = tunnel_pb2.CancelCall()


def _noop() -> None:
    pass


@dataclass
class _Pending:
    call: Call
    future: asyncio.Future[tunnel_pb2.AgentResponse] | None = None
    queue: asyncio.Queue[tunnel_pb2.AgentResponse | BaseException] | None = None
    granted: int = 0  # parts of a stream the agent may have sent so far (window plus credits returned)
    received: int = 0
    on_done: Callable[[], None] = field(default=_noop)  # the agent has nothing more to send for this call


class AgentTunnel:
    """A connected, authenticated agent session serving one tenant."""

    def __init__(self, *, tenant: str, agent: str, session_id: str, link: SealedLink, key_id: int) -> None:
        self.tenant = tenant
        self.agent = agent
        self.session_id = session_id
        self.key_id = key_id
        self.link = link
        self._pending: dict[int, _Pending] = {}
        self._next_call = 1
        self.closed = False
        self.close_reason = ""
        self.draining = False

    @property
    def in_flight(self) -> int:
        """Calls forwarded and not yet answered."""
        return len(self._pending)

    # -- forwarding ---------------------------------------------------------------------------------------------

    def _start(self, call: Call, encoded_request: bytes, *, deadline: float, request_id: str, shop: str) -> int:
        if self.closed:
            raise Unavailable(f"agent tunnel of tenant {self.tenant!r} closed")
        call_id = self._next_call
        self._next_call += 1
        header = tunnel_pb2.AgentRequest(
            request_id=request_id,
            deadline_ms=max(1, int(deadline * 1000)),
            shop=shop,
            initial_window=STREAM_WINDOW if call.streaming else 0,
        ).SerializeToString()
        self.link.send(wire.request_message(call_id, header, call.method_field, encoded_request))
        return call_id

    def _cancel(self, call_id: int) -> None:
        pending = self._pending.pop(call_id, None)
        if pending is not None:
            pending.on_done()
            if not self.closed:
                self.link.send(tunnel_pb2.TunnelMessage(call_id=call_id, cancel=_CANCEL).SerializeToString())

    async def unary(
        self, call: Call, encoded_request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> tunnel_pb2.AgentResponse:
        """Forwards a unary call and waits for its answer.

        Args:
            call: The RPC.
            encoded_request: The shop's request, encoded.
            deadline: Seconds the caller still waits.
            request_id: Id for both sides' logs.
            shop: Name of the calling shop key.

        Raises:
            Unavailable: the tunnel closed before the answer came.
            DeadlineExceeded: no answer within ``deadline``; the agent was told to stop.
        """
        call_id = self._start(call, encoded_request, deadline=deadline, request_id=request_id, shop=shop)
        fut: asyncio.Future[tunnel_pb2.AgentResponse] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = _Pending(call=call, future=fut)
        try:
            async with asyncio.timeout(deadline):
                return await fut
        except TimeoutError:
            raise DeadlineExceeded(f"the agent did not answer within {deadline:.3f} s") from None
        finally:
            if not fut.done() or fut.cancelled():
                self._cancel(call_id)

    async def stream(
        self,
        call: Call,
        encoded_request: bytes,
        *,
        deadline: float,
        request_id: str,
        shop: str,
        on_done: Callable[[], None] = _noop,
    ) -> AsyncIterator[tunnel_pb2.AgentResponse]:
        """Forwards a streaming call and yields its answer messages with flow control.

        The agent may run STREAM_WINDOW messages ahead; each message the shop took returns one credit (sent in
        batches of CREDIT_BATCH), so a slow shop slows the agent instead of filling the gateway's memory.

        Args:
            on_done: Called once when the agent has nothing more to send (last part or error arrived, call
                cancelled, tunnel closed), possibly before the caller has taken every part.
        """
        call_id = self._start(call, encoded_request, deadline=deadline, request_id=request_id, shop=shop)
        queue: asyncio.Queue[tunnel_pb2.AgentResponse | BaseException] = asyncio.Queue()
        pending = _Pending(call=call, queue=queue, granted=STREAM_WINDOW, on_done=on_done)
        self._pending[call_id] = pending
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        finished = False
        owed = 0
        try:
            while True:
                left = end - loop.time()
                try:
                    async with asyncio.timeout(max(left, 0)):
                        item = await queue.get()
                except TimeoutError:
                    raise DeadlineExceeded(f"the agent did not finish the stream within {deadline:.3f} s") from None
                if isinstance(item, BaseException):
                    raise item
                if item.final:
                    finished = True
                yield item
                if finished:
                    return
                owed += 1
                if owed >= CREDIT_BATCH and not self.closed:
                    pending.granted += owed
                    self.link.send(
                        tunnel_pb2.TunnelMessage(
                            call_id=call_id, window_update=tunnel_pb2.WindowUpdate(credits=owed)
                        ).SerializeToString()
                    )
                    owed = 0
        finally:
            if not finished:
                self._cancel(call_id)
            on_done()

    # -- receiving ----------------------------------------------------------------------------------------------

    def deliver(self, plaintext: bytes) -> None:
        """Dispatches the answers in one received bundle to their waiting calls.

        Raises:
            EnvelopeError: the agent answered a call id the gateway never issued, sent a part beyond the window it
                was granted, or an answer larger than allowed (a rogue or broken agent).
        """
        for msg in tunnel_pb2.TunnelBundle.FromString(plaintext).messages:
            if not msg.HasField("response"):
                continue
            call_id = msg.call_id
            pending = self._pending.get(call_id)
            if pending is None:
                if call_id == 0 or call_id >= self._next_call:
                    raise EnvelopeError(f"agent answered call {call_id}, which was never issued")
                continue  # answered after the caller gave up: drop it
            resp = msg.response
            size = resp.ByteSize()
            if pending.future is not None:
                if size > MAX_ANSWER_BYTES:
                    raise EnvelopeError(
                        f"agent answered call {call_id} with {size} bytes, more than the maximum {MAX_ANSWER_BYTES}"
                    )
                del self._pending[call_id]
                if not pending.future.done():
                    pending.future.set_result(resp)
            elif pending.queue is not None:
                if not resp.final and resp.code == 0:  # the closing part (or an error) needs no credit
                    pending.received += 1
                if pending.received > pending.granted:
                    raise EnvelopeError(
                        f"agent sent part {pending.received} of call {call_id} beyond its window of {pending.granted}"
                    )
                if size > MAX_PART_BYTES:
                    raise EnvelopeError(f"agent sent a part of {size} bytes, more than the maximum {MAX_PART_BYTES}")
                if resp.final or resp.code != 0:
                    resp.final = True
                    del self._pending[call_id]
                    pending.on_done()
                pending.queue.put_nowait(resp)

    def fail_all(self, reason: str) -> None:
        """Marks the tunnel closed and fails every waiting call with UNAVAILABLE."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        pending, self._pending = self._pending, {}
        for p in pending.values():
            p.on_done()
            exc = Unavailable(f"the tenant's agent disconnected while answering ({reason})")
            if p.future is not None and not p.future.done():
                p.future.set_exception(exc)
            elif p.queue is not None:
                p.queue.put_nowait(exc)
        if pending:
            log.warning("tunnel.calls_failed", tenant=self.tenant, agent=self.agent, calls=len(pending), reason=reason)

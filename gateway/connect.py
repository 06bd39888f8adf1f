"""TunnelService.Connect: the handshake that turns an agent's stream into a registered tunnel.

1. The agent opens the stream with its token in the metadata; an unknown token is refused at once.
2. Within :data:`HELLO_TIMEOUT` it sends ``AgentHello`` (tenant, key id, nonce). The gateway checks the token
   covers the tenant and knows the key id, then answers ``GatewayWelcome`` (its nonce).
3. Both derive the session keys. Within :data:`READY_TIMEOUT` of the welcome the agent's first sealed message must
   be ``TunnelReady``: only an agent that holds the tenant key gets that far, and only then is the tunnel
   registered and sent ``TunnelReady`` back.
4. Frames are read until the stream ends; then every call still waiting on the tunnel fails with UNAVAILABLE.

A handshake that fails ends the stream with a status saying which step failed (``UNAUTHENTICATED``,
``PERMISSION_DENIED``, ``FAILED_PRECONDITION``, ``INVALID_ARGUMENT``, ``DEADLINE_EXCEEDED``) and one
``tunnel.refused`` log line, never a traceback. Frames are decoded here from the raw bytes (the method has no
request deserializer), so bytes that are no frame get ``INVALID_ARGUMENT`` "malformed tunnel frame" instead of a
decoder error naming internal message types. A timed-out read is not cancelled (cancelling a stream read cancels
the whole call, without a status): the stream is ended with ``DEADLINE_EXCEEDED`` and the read ends with it. So an
unfinished handshake holds a stream for at most one timeout, and an unauthenticated one not at all.

A forged, tampered, replayed or reordered frame, or an answer to a call never issued, closes the tunnel and is
logged as ``tunnel.rejected``.

A tunnel whose credential was revoked or whose key id was retired (:mod:`onlineconnect.gateway.reload`) is
retired: it takes no new calls, the agent is sent ``Drain`` so it finishes what it has and reconnects (with its
current key), and after :data:`RETIRE_GRACE` seconds the gateway closes what is still open.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from google.protobuf.message import DecodeError

from onlineconnect.envelope import (
    MAX_FRAME_BYTES,
    NONCE_BYTES,
    PROTOCOL_VERSION,
    SessionSecret,
    new_nonce,
    session_pair,
)
from onlineconnect.errors import EnvelopeError, OnlineConnectError
from onlineconnect.link import READY, SealedLink, starts_ready
from onlineconnect.v1 import tunnel_pb2

from .auth import Authenticator, bearer, certificate_names
from .config import GatewayConfig, hash_secret
from .live import LiveConfig
from .registry import Registry
from .tunnel import AgentTunnel

log = structlog.get_logger("onlineconnect.gateway.connect")

HELLO_TIMEOUT = 10.0  # seconds from opening the stream to the AgentHello
READY_TIMEOUT = 10.0  # seconds from the GatewayWelcome to the agent's sealed TunnelReady
RETIRE_GRACE = 10.0  # seconds a retired tunnel's agent has to finish its calls and leave
# gRPC sends GOAWAY to connections older than [server] max_connection_age (with up to 10 % jitter either way) and
# then closes them after the grace period; a tunnel is moved to a fresh connection well before that (the agent
# dials a new channel for every session).
RENEW_AT_AGE = 0.8
MALFORMED = "malformed tunnel frame"


class _Refused(Exception):
    """A handshake step failed: the status that ends the stream, and the one log line's event and fields."""

    def __init__(self, code: grpc.StatusCode, message: str, *, event: str = "tunnel.refused", **fields: object) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.event = event  # tunnel.rejected for a sealed frame that fails authentication, as after registration
        self.fields = fields


def _clip(text: str) -> str:
    """An agent-supplied name as it may appear in a log line: short, printable."""
    return "".join(c if c.isprintable() else "?" for c in text[:64])


def _frame(raw: bytes) -> tunnel_pb2.ConnectRequest:
    """Decodes one frame sent by an agent.

    Raises:
        _Refused: INVALID_ARGUMENT "malformed tunnel frame"; the decoder's own message names internal types.
    """
    try:
        return tunnel_pb2.ConnectRequest.FromString(raw)
    except DecodeError:
        raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, MALFORMED) from None


def _forget(read: asyncio.Future[Any]) -> None:
    """Collects the outcome of a read left behind at a timeout (it fails once the call has ended)."""
    if not read.cancelled():
        read.exception()


@dataclass
class _Handshake:
    """What a completed handshake hands to the tunnel."""

    hello: tunnel_pb2.AgentHello
    secret: SessionSecret
    session_id: str
    token_sha256: str
    link: SealedLink


@dataclass
class LiveTunnel:
    """A registered tunnel with what the gateway must re-check after a reload."""

    tunnel: AgentTunnel
    token_sha256: str
    task: asyncio.Task[Any]
    retiring: str = ""  # why the tunnel is being retired; empty while healthy


class TunnelEndpoint:
    """Accepts agent tunnels.

    Args:
        live: The gateway's running configuration (read at every use).
        auth: Checks agent tokens.
        registry: Where completed tunnels are registered.
        hello_timeout: Seconds an opened stream has to send its AgentHello.
        ready_timeout: Seconds an agent has after the GatewayWelcome to prove the key with TunnelReady.
    """

    def __init__(
        self,
        live: LiveConfig,
        auth: Authenticator,
        registry: Registry,
        *,
        hello_timeout: float = HELLO_TIMEOUT,
        ready_timeout: float = READY_TIMEOUT,
    ) -> None:
        self._live = live
        self.auth = auth
        self.registry = registry
        self.hello_timeout = hello_timeout
        self.ready_timeout = ready_timeout
        self.live: dict[str, LiveTunnel] = {}  # by session id
        self.handshaking = 0  # streams between opening and TunnelReady (or their refusal)
        self._retirements: set[asyncio.Task[None]] = set()

    @property
    def config(self) -> GatewayConfig:
        """The running configuration (read from the gateway's one holder at every use)."""
        return self._live.current

    def count(self) -> int:
        """Tunnels open on this replica, retiring ones included."""
        return len(self.live)

    def retire_all(self, reason: str, *, grace: float, avoid: Callable[[str], float]) -> int:
        """Retires every tunnel not retiring yet (the replica drains).

        Args:
            reason: Why, for both sides' logs.
            grace: Seconds before the gateway closes each tunnel itself.
            avoid: For a tenant, the seconds its agent should keep away from this replica (0: come back at once).

        Returns:
            How many tunnels were newly retired.
        """
        newly = 0
        for sid, live in list(self.live.items()):
            if not live.retiring:
                newly += 1
                self.retire(sid, reason, grace=grace, avoid=avoid(live.tunnel.tenant))
        return newly

    def retire(
        self, session_id: str, reason: str, *, grace: float = RETIRE_GRACE, routine: bool = False, avoid: float = 0.0
    ) -> None:
        """Stops routing calls to a tunnel, asks its agent to reconnect, and closes it after ``grace`` seconds.

        Args:
            session_id: The tunnel's session id.
            reason: Why, for both sides' logs (no secrets).
            grace: Seconds before the gateway closes the tunnel itself.
            routine: An expected renewal (connection age): logged at info, not as a warning.
            avoid: Seconds the agent should not dial this gateway again (it is shutting down); 0: reconnect at once.
        """
        live = self.live.get(session_id)
        if live is None or live.retiring:
            return
        live.retiring = reason
        live.tunnel.draining = True
        drain = tunnel_pb2.Drain(reason=reason, avoid_seconds=math.ceil(avoid))
        live.tunnel.link.send(tunnel_pb2.TunnelMessage(drain=drain).SerializeToString())
        (log.info if routine else log.warning)(
            "tunnel.retiring", tenant=live.tunnel.tenant, agent=live.tunnel.agent, session=session_id, reason=reason
        )
        task = asyncio.get_running_loop().create_task(self._close_after(live, grace))
        self._retirements.add(task)
        task.add_done_callback(self._retirements.discard)

    async def _close_after(self, live: LiveTunnel, grace: float) -> None:
        done, _ = await asyncio.wait([live.task], timeout=grace)
        if not done:
            live.task.cancel()

    def check_live(self, now: float | None = None) -> list[str]:
        """Retires tunnels whose token was revoked (or no longer covers the tenant) or whose key id was retired.

        Returns:
            The session ids newly retired.
        """
        now = time.time() if now is None else now
        retired = []
        for sid, live in list(self.live.items()):
            if live.retiring:
                continue
            t = live.tunnel
            tenant = self.config.tenants.get(t.tenant)
            if not self.auth.agent_valid(live.token_sha256, t.tenant):
                self.retire(sid, "agent token revoked or no longer valid for this tenant")
            elif tenant is None or tenant.key(t.key_id, now) is None:
                self.retire(sid, f"key id {t.key_id} retired; reconnect with the tenant's current key")
            else:
                continue
            retired.append(sid)
        return retired

    async def _read(
        self, context: grpc.aio.ServicerContext, deadline: float, late: str
    ) -> tunnel_pb2.ConnectRequest | None:
        """The next frame of a stream in its handshake, or None at the end of the stream.

        Args:
            context: The stream.
            deadline: Loop time by which the frame must be there.
            late: The refusal message if it is not.

        Raises:
            _Refused: DEADLINE_EXCEEDED (``late``), INVALID_ARGUMENT (malformed), or CANCELLED (stream broken).
        """
        loop = asyncio.get_running_loop()
        read = asyncio.ensure_future(context.read())
        try:
            await asyncio.wait([read], timeout=max(0.0, deadline - loop.time()))
        finally:
            if not read.done():
                # Not cancelled: that would cancel the call without a status. Ending the call ends the read.
                read.add_done_callback(_forget)
        if not read.done():
            raise _Refused(grpc.StatusCode.DEADLINE_EXCEEDED, late)
        try:
            raw = read.result()
        except Exception as exc:  # the connection went away mid-handshake
            raise _Refused(grpc.StatusCode.CANCELLED, f"stream broken: {type(exc).__name__}") from None
        if raw is grpc.aio.EOF:
            return None
        return _frame(raw)

    def _check_token(self, context: grpc.aio.ServicerContext) -> None:
        """Refuses a stream at once when its token is missing or unknown: no stranger waits for a hello."""
        secret = bearer(context.invocation_metadata())
        if secret is None:
            raise _Refused(
                grpc.StatusCode.UNAUTHENTICATED, "missing agent token: send metadata 'authorization: Bearer <token>'"
            )
        if hash_secret(secret) not in self.config.agents:
            raise _Refused(grpc.StatusCode.UNAUTHENTICATED, "invalid agent token")

    async def _hello(self, context: grpc.aio.ServicerContext) -> _Handshake:
        """Steps 1 and 2: token, AgentHello, GatewayWelcome."""
        self._check_token(context)
        loop = asyncio.get_running_loop()
        first = await self._read(
            context, loop.time() + self.hello_timeout, f"no AgentHello within {self.hello_timeout:g} s"
        )
        if first is None or not first.HasField("hello"):
            raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, "the first frame must be AgentHello")
        hello: tunnel_pb2.AgentHello = first.hello
        who = {"tenant": _clip(hello.tenant), "agent": _clip(hello.agent_id)}
        if hello.protocol_version != PROTOCOL_VERSION:
            raise _Refused(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"tunnel protocol {hello.protocol_version} not supported; this gateway speaks {PROTOCOL_VERSION}: "
                "run agent and gateway of the same release",
                **who,
            )
        if len(hello.agent_nonce) != NONCE_BYTES:
            raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, f"agent_nonce must be {NONCE_BYTES} bytes", **who)
        try:
            cred = self.auth.agent(
                context.invocation_metadata(), hello.tenant, certificate_names(context.auth_context())
            )
        except OnlineConnectError as exc:
            raise _Refused(exc.code, exc.message, **who) from None
        tenant = self.config.tenants.get(hello.tenant)
        key = tenant.key(hello.key_id, time.time()) if tenant is not None else None
        if key is None:
            raise _Refused(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"key id {hello.key_id} is not (or no longer) accepted for tenant {hello.tenant!r}",
                key_id=hello.key_id,
                **who,
            )
        session_id = uuid.uuid4().hex[:12]
        gateway_nonce = new_nonce()
        await context.write(
            tunnel_pb2.ConnectResponse(
                welcome=tunnel_pb2.GatewayWelcome(
                    session_id=session_id,
                    gateway_nonce=gateway_nonce,
                    key_id=hello.key_id,
                    max_frame_bytes=MAX_FRAME_BYTES,
                    gateway_time_unix_ms=int(time.time() * 1000),
                )
            )
        )
        secret = SessionSecret(key_id=hello.key_id, key=key, agent_nonce=hello.agent_nonce, gateway_nonce=gateway_nonce)
        sealer, opener = session_pair(secret, agent=False)

        async def write(frame: tunnel_pb2.SealedFrame) -> None:
            await context.write(tunnel_pb2.ConnectResponse(sealed=frame))

        link = SealedLink(sealer, opener, write)
        return _Handshake(hello, secret, session_id, cred.token_sha256, link)

    async def _ready(self, context: grpc.aio.ServicerContext, hs: _Handshake) -> None:
        """Step 3: the agent's first sealed message, TunnelReady, within the ready timeout of the welcome."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.ready_timeout
        late = f"no TunnelReady within {self.ready_timeout:g} s of GatewayWelcome"
        who = {"tenant": hs.hello.tenant, "agent": _clip(hs.hello.agent_id), "session": hs.session_id}
        while True:
            frame = await self._read(context, deadline, late)
            if frame is None:
                raise _Refused(grpc.StatusCode.UNAUTHENTICATED, "the stream ended before TunnelReady", **who)
            if not frame.HasField("sealed"):
                raise _Refused(grpc.StatusCode.INVALID_ARGUMENT, "expected the sealed TunnelReady", **who)
            try:
                plaintext = hs.link.open(frame.sealed)
                if plaintext is None:
                    continue  # a bundle spanning several frames; the deadline still holds
                if not starts_ready(plaintext):
                    raise EnvelopeError("the first sealed message must be TunnelReady")
            except EnvelopeError as exc:
                message = f"tunnel closed: rejected: {exc.message}"
                raise _Refused(grpc.StatusCode.PERMISSION_DENIED, message, event="tunnel.rejected", **who) from None
            return

    async def connect(self, _requests: Any, context: grpc.aio.ServicerContext) -> None:
        """The Connect handler (reader/writer API: one reader loop here, one writer task)."""
        self.handshaking += 1
        try:
            hs = await self._hello(context)
            await self._ready(context, hs)
        except _Refused as exc:
            log.warning(exc.event, reason=exc.message, peer=context.peer(), **exc.fields)
            await context.abort(exc.code, exc.message)
        except asyncio.CancelledError:  # the agent gave up, or the gateway is stopping
            log.info("tunnel.refused", reason="stream cancelled during the handshake", peer=context.peer())
            raise
        finally:
            self.handshaking -= 1
        await self._serve(context, hs)

    async def _serve(self, context: grpc.aio.ServicerContext, hs: _Handshake) -> None:
        """Step 4: registers the tunnel and reads its frames until the stream ends."""
        hello, link, session_id = hs.hello, hs.link, hs.session_id
        tunnel = AgentTunnel(
            tenant=hello.tenant, agent=hello.agent_id, session_id=session_id, link=link, key_id=hs.secret.key_id
        )
        writer = asyncio.create_task(link.run_writer(), name=f"tunnel-writer-{session_id}")
        link.send(READY)
        self.registry.add(tunnel)
        task = asyncio.current_task()
        assert task is not None
        self.live[session_id] = LiveTunnel(tunnel=tunnel, token_sha256=hs.token_sha256, task=task)
        renew = asyncio.get_running_loop().call_later(
            RENEW_AT_AGE * self.config.max_connection_age,
            functools.partial(
                self.retire, session_id, "the connection reaches its maximum age; reconnect", routine=True
            ),
        )
        log.info(
            "tunnel.opened",
            tenant=hello.tenant,
            agent=hello.agent_id,
            session=session_id,
            key_id=hs.secret.key_id,
            peer=context.peer(),
        )
        reason = "agent closed the stream"
        status = grpc.StatusCode.OK

        async def read() -> tunnel_pb2.ConnectRequest | None:
            raw = await context.read()
            if raw is grpc.aio.EOF:
                return None
            try:
                return _frame(raw)
            except _Refused as exc:
                raise EnvelopeError(exc.message) from None

        try:
            await link.pump(read, tunnel.deliver)
        except EnvelopeError as exc:
            reason = f"rejected: {exc.message}"
            malformed = exc.message == MALFORMED
            status = grpc.StatusCode.INVALID_ARGUMENT if malformed else grpc.StatusCode.PERMISSION_DENIED
            log.warning(
                "tunnel.rejected", tenant=hello.tenant, agent=hello.agent_id, session=session_id, reason=exc.message
            )
        except asyncio.CancelledError:
            live = self.live.get(session_id)
            if live is None or not live.retiring:
                reason = "gateway shutting down or stream cancelled"
                raise
            reason = f"retired: {live.retiring}"
            status = grpc.StatusCode.FAILED_PRECONDITION
        except Exception as exc:  # the stream broke (connection lost)
            reason = f"stream error: {type(exc).__name__}"
            log.warning("tunnel.broken", tenant=hello.tenant, agent=hello.agent_id, session=session_id, reason=reason)
        finally:
            renew.cancel()
            self.live.pop(session_id, None)
            tunnel.fail_all(reason)
            self.registry.remove(tunnel)
            writer.cancel()
            log.info(
                "tunnel.closed",
                tenant=hello.tenant,
                agent=hello.agent_id,
                session=session_id,
                reason=reason,
                bytes_in=link.bytes_in,
                bytes_out=link.bytes_out,
            )
        if status != grpc.StatusCode.OK:
            message = MALFORMED if status == grpc.StatusCode.INVALID_ARGUMENT else reason
            await context.abort(status, "tunnel closed: " + message)

    def handler(self) -> grpc.GenericRpcHandler:
        """The generic handler of onlineconnect.v1.TunnelService."""
        method = grpc.stream_stream_rpc_method_handler(
            self.connect,
            request_deserializer=None,  # frames are decoded in _frame(), so garbage gets a clean refusal
            response_serializer=tunnel_pb2.ConnectResponse.SerializeToString,
        )
        return grpc.method_handlers_generic_handler("onlineconnect.v1.TunnelService", {"Connect": method})

"""Several gateway replicas linked through NATS request-reply, so a shop call can land on any replica.

A replica that holds a tunnel of a tenant subscribes to the tenant's subject ``<prefix>.tenant.<tenant>`` in the
queue group ``<prefix>-gateways``: NATS hands each request to one of the replicas holding the tenant, which shares
the load between them. The subscription goes when the replica's last tunnel of the tenant goes (or when the replica
drains). A replica with no tunnel of the tenant sends the call to that subject instead of failing it.

Wire format (no new protobuf messages; the tunnel's own ones are reused):

* request payload: an encoded ``AgentRequest`` — the RPC (its method path), the shop's encoded request,
  the remaining deadline (``deadline_ms``), the request id and the shop name; its reply subject is
  ``<inbox>.<token>`` under one inbox per replica, so answers find their waiting call by token;
* reply payload: an encoded ``AgentResponse`` — status code, message and the encoded result, exactly as the agent
  answered it. A reply with the header ``Oc-No-Path`` means the serving replica had no usable tunnel after all
  (it lost it a moment ago); the caller then tries once more.
* while it works on a call, the serving replica sends an empty ``Oc-Alive`` heartbeat every second, so a caller
  whose serving replica was killed notices within :data:`SILENCE` seconds and tries once more instead of waiting
  for its deadline;
* streaming (GetInvoicePdf): every part is sent to the reply subject; each part but the last as a request that the
  caller answers (empty) once the shop took the part — one part in flight, so a slow shop slows the agent instead
  of filling memory. A caller that gave up answers ``Oc-Gone`` and the stream is cancelled at the agent.

Besides calls, replicas broadcast small news to all others (:meth:`ClusterLink.broadcast`, e.g. failed guest
lookups on ``<prefix>.guest.failure``, :mod:`.guest_guard`): plain publish-subscribe, best effort, each message
marked with the sending instance so a replica ignores its own.

The link starts in the background and reconnects by itself: while NATS is unreachable, calls that need another
replica fail with ``UNAVAILABLE`` and a message saying so, and calls served by this replica's own tunnels go on.

Every ``ping_interval`` the replica pings NATS itself (round-trip time for metrics): a ping unanswered within
``ping_timeout`` marks the link *stalled* (a frozen NATS keeps its TCP connections open, so the client alone would
not notice for minutes), and calls waiting for another replica then fail naming NATS rather than blaming a
replica. The same loop announces this replica's tenants to the others (presence, :mod:`.cluster_state`), so each
replica's tenant health tells whether a shop calling it can reach the tenant's ERP.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import nats
import structlog
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from onlineconnect import wire
from onlineconnect.calls import BY_PATH, Call
from onlineconnect.config import mask_url
from onlineconnect.errors import DeadlineExceeded, OnlineConnectError, Unavailable
from onlineconnect.v1 import tunnel_pb2

from .cluster_state import LinkState
from .config import ClusterConfig
from .retry import may_retry

log = structlog.get_logger("onlineconnect.gateway.cluster")

NO_PATH_HEADER = "Oc-No-Path"  # the serving replica had no usable tunnel after all: try once more
ALIVE_HEADER = "Oc-Alive"  # heartbeat of a replica working on a call
GONE_HEADER = "Oc-Gone"  # the caller no longer waits for this stream
REPLICA_HEADER = "Oc-Replica"  # which replica answered (for logs and tests)
FROM_HEADER = "Oc-From"  # the instance that broadcast a piece of news (it ignores its own)
HEARTBEAT = 1.0  # seconds between heartbeats of a replica working on a call
SILENCE = 3.5  # seconds without heartbeat or answer after which the caller takes the serving replica for dead
_SIMPLE = re.compile(r"^[A-Za-z0-9_-]+$")


class LocalForwarder(Protocol):
    """What the cluster link needs of the relay: forwarding over this replica's own tunnels only."""

    def has_local(self, tenant: str) -> bool:
        """True if this replica holds a usable tunnel of ``tenant``."""

    async def local_unary(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> tunnel_pb2.AgentResponse:
        """Forwards a unary call over a local tunnel; raises Unavailable if there is none."""

    def local_stream(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> AsyncIterator[tunnel_pb2.AgentResponse]:
        """Forwards a streaming call over a local tunnel; raises Unavailable if there is none."""


def tenant_token(tenant: str) -> str:
    """The tenant as one NATS subject token (names with dots, spaces or wildcards are hex-encoded)."""
    return tenant if _SIMPLE.match(tenant) else "x" + tenant.encode().hex()


class ClusterLink:
    """This replica's link to the others."""

    def __init__(
        self, config: ClusterConfig, local: LocalForwarder, *, on_change: Callable[[], None] | None = None
    ) -> None:
        self.config = config
        self.local = local
        self.nc: NATS | None = None
        self._wanted: set[str] = set()
        self._subs: dict[str, Subscription] = {}
        self._tenant_of: dict[str, str] = {}
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._connector: asyncio.Task[None] | None = None
        self._accepting = True
        self._inbox = ""  # this replica's answer subjects are <inbox>.<token>
        self._next_token = 0
        self._waiting: dict[str, asyncio.Queue[Msg | BaseException]] = {}  # calls sent, by token
        self._serving: dict[str, int] = {}  # reply subjects of calls served for others (for heartbeats)
        self._where = ",".join(mask_url(u) for u in config.servers)
        self._instance = f"{config.replica}/{uuid.uuid4().hex[:8]}"  # names may repeat; instances do not
        self._broadcasts: dict[str, Callable[[bytes], None]] = {}  # subject suffix -> handler of others' news
        self.state = LinkState(
            where=self._where, replica=config.replica, warn_interval=config.warn_interval, on_change=on_change
        )

    @property
    def served(self) -> int:
        """Calls answered for other replicas."""
        return self.state.routed_in

    @property
    def forwarded(self) -> int:
        """Calls sent to other replicas."""
        return self.state.routed_out

    # -- life cycle ---------------------------------------------------------------------------------------------

    def subject(self, tenant: str) -> str:
        """The subject the replicas holding ``tenant`` listen on."""
        return f"{self.config.subject_prefix}.tenant.{tenant_token(tenant)}"

    @property
    def queue(self) -> str:
        """The queue group: one member of it answers each request."""
        return f"{self.config.subject_prefix}-gateways"

    @property
    def presence_subject(self) -> str:
        """Where replicas announce the tenants they hold."""
        return f"{self.config.subject_prefix}.presence"

    @property
    def connected(self) -> bool:
        """True while the link to NATS is up and NATS answers pings."""
        return self.nc is not None and self.nc.is_connected and self.state.healthy

    def reachable(self, tenant: str) -> bool:
        """True if another replica reachable through NATS holds a tunnel of ``tenant``."""
        return self.state.holds(tenant)

    async def start(self) -> None:
        """Starts connecting in the background; the gateway serves its own tunnels meanwhile."""
        self._connector = asyncio.create_task(self._connect(), name="cluster-connect")
        self._spawn(self._watch(), "cluster-watch")

    async def wait_connected(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds for the link to come up; True if it did."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not self.connected and loop.time() < end:
            await asyncio.sleep(0.02)
        return self.connected

    async def _connect(self) -> None:
        delay = 0.5
        while True:
            try:
                nc = await nats.connect(
                    servers=self.config.servers,
                    name=f"onlineconnect-gateway {self.config.replica}",
                    connect_timeout=2,
                    reconnect_time_wait=1,
                    max_reconnect_attempts=-1,
                    # The client's own stale-connection check; ours (_watch) is faster and names the trouble.
                    ping_interval=max(1, math.ceil(self.config.ping_interval * 5)),
                    max_outstanding_pings=2,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                )
                break
            except (NatsError, OSError) as exc:  # the client retries by itself; this is for what it gives up on
                self.state.last_error = str(exc) or type(exc).__name__
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        inbox = nc.new_inbox()
        await nc.subscribe(inbox + ".*", cb=self._on_answer)
        await nc.subscribe(self.presence_subject, cb=self._on_presence)
        for suffix, handler in self._broadcasts.items():
            await nc.subscribe(f"{self.config.subject_prefix}.{suffix}", cb=self._news_handler(handler))
        self.nc, self._inbox = nc, inbox
        self._spawn(self._heartbeats())
        log.info("cluster.connected", nats=self._where, replica=self.config.replica)
        self.state.up()
        await self._sync()

    # -- news for every replica -----------------------------------------------------------------------------------

    def on_broadcast(self, suffix: str, handler: Callable[[bytes], None]) -> None:
        """Has ``handler`` called with every message another replica broadcasts under ``suffix``; call before
        :meth:`start`."""
        self._broadcasts[suffix] = handler

    def broadcast(self, suffix: str, data: bytes) -> None:
        """Sends ``data`` to every other replica under ``<prefix>.<suffix>``; best effort (dropped while NATS is
        unusable, never blocks the caller)."""
        nc = self.nc
        if nc is None or not nc.is_connected:
            return
        subject = f"{self.config.subject_prefix}.{suffix}"

        async def publish() -> None:
            with contextlib.suppress(NatsError):
                await nc.publish(subject, data, headers={FROM_HEADER: self._instance})

        self._spawn(publish(), "cluster-broadcast")

    def _news_handler(self, handler: Callable[[bytes], None]) -> Callable[[Msg], Any]:
        async def on_news(msg: Msg) -> None:
            if (msg.headers or {}).get(FROM_HEADER) == self._instance:
                return
            handler(msg.data)

        return on_news

    async def _on_error(self, exc: Exception) -> None:
        # The client reports every failed (re)connect here and retries by itself: _watch warns, periodically.
        self.state.last_error = str(exc) or type(exc).__name__
        log.debug("cluster.error", error=self.state.last_error)

    def _fail_waiting(self, why: str, *, stalled: bool) -> None:
        """Calls waiting for another replica fail now, naming NATS, rather than at their deadline."""
        for queue in self._waiting.values():
            queue.put_nowait(NatsTrouble(f"the link to the other gateway replicas failed: {why}", stalled=stalled))

    async def _on_disconnected(self) -> None:
        if self.state.closing:
            log.info("cluster.closed", nats=self._where, replica=self.config.replica)
            return
        self.state.down(error="connection to NATS lost")
        self._fail_waiting(f"NATS at {self._where} dropped the connection", stalled=False)

    async def _on_reconnected(self) -> None:
        log.info("cluster.reconnected", nats=self._where, replica=self.config.replica)
        self.state.up()
        self._spawn(self._announce())

    async def _watch(self) -> None:
        """Pings NATS every ``ping_interval`` (round-trip time, stall detection), warns while the link is down,
        announces this replica's tenants and forgets stale announcements of others."""
        interval, timeout = self.config.ping_interval, self.config.ping_timeout
        while True:
            await asyncio.sleep(interval)
            nc = self.nc
            if nc is not None and nc.is_connected:
                try:
                    async with asyncio.timeout(timeout):
                        self.state.rtt = await nc.rtt(timeout=math.ceil(timeout) + 1)
                except (TimeoutError, NatsError):
                    if not self.state.stalled and not self.state.closing:
                        self.state.down(stalled=True, error=f"no answer to a ping within {timeout:g} s")
                        self._fail_waiting(self.state.trouble(), stalled=True)
                else:
                    self.state.up()
                    await self._announce()
            elif self.state.healthy:
                self.state.down(error="not connected")
            self.state.tick()

    async def _announce(self) -> None:
        """Tells the other replicas which tenants this replica holds tunnels of (they use it for health)."""
        nc = self.nc
        if nc is None or not nc.is_connected:
            return
        tenants = sorted(self._subs) if self._accepting else []
        ttl = self.config.ping_interval * 3 + self.config.ping_timeout
        payload = {"instance": self._instance, "replica": self.config.replica, "tenants": tenants, "ttl": ttl}
        with contextlib.suppress(NatsError):
            await nc.publish(self.presence_subject, json.dumps(payload).encode())

    async def _on_presence(self, msg: Msg) -> None:
        try:
            news = json.loads(msg.data)
            instance, replica, ttl = str(news["instance"]), str(news["replica"]), float(news["ttl"])
            tenants = frozenset(str(t) for t in news["tenants"])
        except (ValueError, KeyError, TypeError):
            log.debug("cluster.presence_malformed")
            return
        if instance != self._instance:
            self.state.heard(instance, replica, tenants, ttl)

    def tenant_changed(self, tenant: str, serving: bool) -> None:
        """Subscribes for ``tenant`` when this replica got its first tunnel of it, unsubscribes after its last."""
        if serving and self._accepting:
            self._wanted.add(tenant)
        else:
            self._wanted.discard(tenant)
        self._spawn(self._sync())

    async def _sync(self) -> None:
        async with self._lock:
            nc = self.nc
            if nc is None or nc.is_closed:
                return
            for tenant in sorted(self._wanted - set(self._subs)):
                subject = self.subject(tenant)
                self._tenant_of[subject] = tenant
                self._subs[tenant] = await nc.subscribe(subject, queue=self.queue, cb=self._on_request)
                log.info("cluster.subscribed", tenant=tenant, subject=subject, replica=self.config.replica)
            for tenant in sorted(set(self._subs) - self._wanted):
                sub = self._subs.pop(tenant)
                # Drain rather than unsubscribe: calls NATS already sent our way are still answered (no_path).
                with contextlib.suppress(NatsError, asyncio.TimeoutError):
                    await sub.drain()  # type: ignore[no-untyped-call]
                log.info("cluster.unsubscribed", tenant=tenant, replica=self.config.replica)
        await self._announce()

    async def withdraw(self) -> None:
        """Stops taking calls from other replicas (drain): every subscription goes, in-flight calls continue."""
        self._accepting = False
        self._wanted.clear()
        await self._sync()

    async def stop(self, grace: float = 5.0) -> None:
        """Withdraws, lets calls served for other replicas finish within ``grace`` seconds, then disconnects."""
        await self.withdraw()
        serving = [t for t in self._tasks if t.get_name().startswith("cluster-serve")]
        if serving:
            await asyncio.wait(serving, timeout=grace)
        self.state.closing = True
        if self._connector is not None:
            self._connector.cancel()
        if self.nc is not None and not self.nc.is_closed:
            with contextlib.suppress(NatsError, OSError):  # NATS may be gone: the replica stops all the same
                await self.nc.close()
        for task in list(self._tasks):
            task.cancel()

    def _spawn(self, coro: Any, name: str = "cluster") -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- calling another replica --------------------------------------------------------------------------------

    def _link(self, tenant: str) -> NATS:
        nc = self.nc
        if nc is None or not nc.is_connected or not self._inbox or not self.state.healthy:
            raise NatsTrouble(
                f"no agent of this shop's tenant ({tenant}) is connected to this gateway replica, and the link to "
                f"the other replicas is down: {self.state.trouble()}",
                stalled=self.state.stalled,
            )
        return nc

    async def _send(
        self, call: Call, tenant: str, request: bytes, left: float, request_id: str, shop: str
    ) -> tuple[str, asyncio.Queue[Msg | BaseException], NATS]:
        """Publishes a call to the tenant's subject; its answers come to a queue of their own."""
        nc = self._link(tenant)
        if left <= 0:
            raise DeadlineExceeded("the deadline passed before another gateway replica could be asked")
        self._next_token += 1
        token = str(self._next_token)
        queue: asyncio.Queue[Msg | BaseException] = asyncio.Queue()
        self._waiting[token] = queue
        header = tunnel_pb2.AgentRequest(request_id=request_id, deadline_ms=max(1, int(left * 1000)), shop=shop)
        payload = wire.call_request(header.SerializeToString(), call.method_field, request)
        self.state.routed_out += 1
        try:
            await nc.publish(self.subject(tenant), payload, reply=f"{self._inbox}.{token}")
        except NatsError as exc:
            self._waiting.pop(token, None)
            raise Unavailable(f"the link to the other gateway replicas failed: {exc}") from exc
        return token, queue, nc

    async def _next(self, queue: asyncio.Queue[Msg | BaseException], end: float, tenant: str) -> Msg:
        """The next answer message of a call, skipping heartbeats.

        Raises:
            Unavailable: nobody holds the tenant (NATS says "no responders"), the link dropped, or the serving
                replica went silent (:class:`ReplicaLost`).
            DeadlineExceeded: the caller's deadline passed.
        """
        loop = asyncio.get_running_loop()
        while True:
            left = end - loop.time()
            try:
                async with asyncio.timeout(max(0.0, min(left, SILENCE))):
                    item = await queue.get()
            except TimeoutError:
                if left <= SILENCE:
                    raise DeadlineExceeded("no answer from the other gateway replicas within the deadline") from None
                # Silence has two causes: the serving replica died, or NATS froze. Ask NATS before blaming.
                if not await self._nats_answers():
                    raise NatsTrouble(
                        f"the link to the other gateway replicas failed: {self.state.trouble()}", stalled=True
                    ) from None
                raise ReplicaLost("the gateway replica serving this call stopped answering") from None
            if isinstance(item, BaseException):
                raise item
            headers = item.headers or {}
            if headers.get("Status") == "503":
                raise NoReplica(f"no agent connected for this shop's tenant ({tenant}) on any gateway replica")
            if ALIVE_HEADER not in headers:
                return item

    async def _nats_answers(self) -> bool:
        """True if NATS answers a ping within ``ping_timeout`` (else the link is marked stalled)."""
        nc = self.nc
        if nc is None or not nc.is_connected:
            return False
        if self.state.stalled:
            return False
        try:
            async with asyncio.timeout(self.config.ping_timeout):
                await nc.flush(timeout=math.ceil(self.config.ping_timeout) + 1)
        except (TimeoutError, NatsError):
            self.state.down(stalled=True, error=f"no answer to a ping within {self.config.ping_timeout:g} s")
            return False
        return True

    def _count(self, exc: BaseException) -> None:
        """Books a failed routed call under its cause."""
        if isinstance(exc, NatsTrouble):
            self.state.failed("nats_stalled" if exc.stalled else "nats_down")
        elif isinstance(exc, ReplicaLost):
            self.state.failed("replica_lost")
        elif isinstance(exc, NoReplica):
            self.state.failed("no_replica")
        elif isinstance(exc, DeadlineExceeded):
            self.state.failed("deadline")
        elif isinstance(exc, Unavailable):
            self.state.failed("no_path")

    async def unary(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> tunnel_pb2.AgentResponse:
        """Sends a unary call to a replica holding a tunnel of ``tenant`` and returns its answer.

        Tried once more (within the deadline) when the serving replica lost its tunnel before it could forward
        the call, or went silent (killed): every call is a read, and a late answer to a token no longer waited
        for is dropped.

        Raises:
            Unavailable: NATS is down, or no replica holds a tunnel of the tenant.
            DeadlineExceeded: no answer within ``deadline`` seconds.
        """
        try:
            return await self._unary(call, tenant, request, deadline=deadline, request_id=request_id, shop=shop)
        except OnlineConnectError as exc:
            self._count(exc)
            raise

    async def _unary(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> tunnel_pb2.AgentResponse:
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        attempt = 0
        while True:
            attempt += 1
            token, queue, _ = await self._send(call, tenant, request, end - loop.time(), request_id, shop)
            try:
                msg = await self._next(queue, end, tenant)
            except ReplicaLost:
                if not may_retry(attempt, left=end - loop.time()):
                    raise
                log.warning("cluster.replica_lost", tenant=tenant, request_id=request_id)
                continue
            finally:
                self._waiting.pop(token, None)
            if NO_PATH_HEADER in (msg.headers or {}) and may_retry(attempt, left=end - loop.time()):
                continue  # that replica just lost its tunnel: NATS may know another one
            return tunnel_pb2.AgentResponse.FromString(msg.data)

    async def stream(
        self, call: Call, tenant: str, request: bytes, *, deadline: float, request_id: str, shop: str
    ) -> AsyncIterator[tunnel_pb2.AgentResponse]:
        """Sends a streaming call to a replica holding a tunnel of ``tenant`` and yields the answer's parts.

        Each part but the last arrives as a request; answering it (after the shop took the part) lets the
        serving replica send the next one.
        """
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        try:
            token, queue, nc = await self._send(call, tenant, request, deadline, request_id, shop)
        except OnlineConnectError as exc:
            self._count(exc)
            raise
        try:
            msg = await self._next(queue, end, tenant)
            if NO_PATH_HEADER in (msg.headers or {}):  # that replica just lost its tunnel: once more
                self._waiting.pop(token, None)
                token, queue, nc = await self._send(call, tenant, request, end - loop.time(), request_id, shop)
                msg = await self._next(queue, end, tenant)
            while True:
                part = tunnel_pb2.AgentResponse.FromString(msg.data)
                yield part
                if part.final or part.code != 0:
                    return
                if msg.reply:
                    await nc.publish(msg.reply, b"")  # credit: the serving replica may send the next part
                msg = await self._next(queue, end, tenant)
        except OnlineConnectError as exc:
            self._count(exc)
            raise
        finally:
            self._waiting.pop(token, None)

    async def _on_answer(self, msg: Msg) -> None:
        queue = self._waiting.get(msg.subject.rsplit(".", 1)[-1])
        if queue is not None:
            queue.put_nowait(msg)
        elif msg.reply and self.nc is not None:
            # A part of a stream the shop gave up on: tell the serving replica to stop.
            await self.nc.publish(msg.reply, b"", headers={GONE_HEADER: "1"})

    # -- serving another replica --------------------------------------------------------------------------------

    async def _on_request(self, msg: Msg) -> None:
        # NATS runs a subscription's callbacks one after another: serve each call in its own task.
        self._spawn(self._serve(msg), "cluster-serve")

    async def _reply(self, reply: str, data: bytes, *, no_path: bool = False) -> None:
        nc = self.nc
        if nc is None or nc.is_closed or not reply:
            return
        headers = {REPLICA_HEADER: self.config.replica}
        if no_path:
            headers[NO_PATH_HEADER] = "1"
        await nc.publish(reply, data, headers=headers)

    async def _heartbeats(self) -> None:
        """Tells the callers of the calls this replica serves that it is alive, so they notice if it dies."""
        while True:
            await asyncio.sleep(HEARTBEAT)
            nc = self.nc
            if nc is None or not nc.is_connected:
                continue
            for reply in list(self._serving):
                await nc.publish(reply, b"", headers={ALIVE_HEADER: "1"})

    async def _serve(self, msg: Msg) -> None:
        tenant = self._tenant_of.get(msg.subject, "")
        reply = msg.reply
        self._serving[reply] = self._serving.get(reply, 0) + 1
        try:
            req = tunnel_pb2.AgentRequest.FromString(msg.data)
            call = BY_PATH.get(req.method)
            if call is None:
                raise Unavailable("this gateway replica does not support the requested call; update it")
            if tenant not in self._wanted:  # our last tunnel of it went a moment ago: the caller asks elsewhere
                raise Unavailable(f"this gateway replica no longer holds a tunnel of tenant {tenant!r}")
            encoded = req.request
            deadline = req.deadline_ms / 1000
            opts: dict[str, Any] = {"deadline": deadline, "request_id": req.request_id, "shop": req.shop}
            self.state.routed_in += 1
            if call.streaming:
                await self._serve_stream(reply, self.local.local_stream(call, tenant, encoded, **opts), deadline)
            else:
                resp = await self.local.local_unary(call, tenant, encoded, **opts)
                await self._reply(reply, resp.SerializeToString())
        except OnlineConnectError as exc:
            await self._reply(reply, _error(exc), no_path=isinstance(exc, Unavailable))
        except Exception:
            log.exception("cluster.serve_failed", tenant=tenant)
            await self._reply(reply, _error(OnlineConnectError("the gateway replica failed; see its log")))
        finally:
            left = self._serving.pop(reply, 1) - 1
            if left > 0:
                self._serving[reply] = left

    async def _serve_stream(self, reply: str, parts: AsyncIterator[tunnel_pb2.AgentResponse], deadline: float) -> None:
        assert self.nc is not None
        nc = self.nc
        loop = asyncio.get_running_loop()
        end = loop.time() + deadline
        first = True
        try:
            async for part in parts:
                data = part.SerializeToString()
                if part.final or part.code != 0:
                    await self._reply(reply, data)
                    return
                first = False
                try:
                    ack = await nc.request(reply, data, timeout=max(0.001, end - loop.time()))
                except (NoRespondersError, NatsTimeout):
                    return  # the caller is gone: closing ``parts`` cancels the call at the agent
                if GONE_HEADER in (ack.headers or {}):
                    return
        except OnlineConnectError as exc:
            if first:
                raise
            await self._reply(reply, _error(exc))
        finally:
            await parts.aclose()  # type: ignore[attr-defined]


class ReplicaLost(Unavailable):
    """Expected: the replica serving a call went silent (killed, cut off) while NATS still answers; the call may
    be tried elsewhere."""


class NatsTrouble(Unavailable):
    """Expected: NATS is unreachable (``stalled`` False) or stopped answering (True); no replica is to blame."""

    def __init__(self, message: str, *, stalled: bool = False) -> None:
        super().__init__(message)
        self.stalled = stalled


class NoReplica(Unavailable):
    """Expected: NATS answered that no replica holds a tunnel of the tenant."""


def _error(exc: OnlineConnectError) -> bytes:
    return tunnel_pb2.AgentResponse(code=exc.code.value[0], message=exc.message, final=True).SerializeToString()

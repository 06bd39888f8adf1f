"""The gateway process: one grpc.aio server with the shop services, the tunnel endpoint, health and reflection.

Life cycle (as in uvicorn): :meth:`GatewayServer.start` binds and starts serving, :meth:`serve_forever` waits
for SIGINT/SIGTERM, :meth:`stop` drains (:mod:`.drain`: health NOT_SERVING, agents sent ``Drain``), stops taking
calls, lets in-flight calls finish within a grace period, then cancels what is left. Signal handlers are restored
afterwards. :meth:`apply_config` puts a reloaded configuration in force (the :mod:`.reload` watcher calls it). The
server owns these steps and drives its parts only through their own methods; the running configuration lives in
one :class:`~.live.LiveConfig` that every part reads. With ``[cluster]`` the replica also links to the other
replicas through NATS (:mod:`.cluster`).
"""

from __future__ import annotations

import asyncio
import signal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import grpc
import structlog
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from onlineconnect._codegen import DESCRIPTOR_SET
from onlineconnect.calls import CALLS
from onlineconnect.envelope import MAX_FRAME_BYTES

from .auth import Authenticator
from .config import GatewayConfig
from .connect import TunnelEndpoint
from .drain import drain
from .guest_guard import GuestCollector, share_failures
from .health import GatewayHealth
from .http_door import HttpDoor
from .http_server import HttpListener
from .live import LiveConfig
from .metrics import GatewayMetrics
from .registry import Registry, tenant_health_name
from .relay import Relay
from .reload import Reloader, restart_needed
from .shop_grpc import GrpcDoor

if TYPE_CHECKING:
    from .cluster import ClusterLink

log = structlog.get_logger("onlineconnect.gateway.server")

# Health name of the link to the other replicas: SERVING while NATS is connected and answers pings. Not part of
# "" (the server's own status): a replica without NATS still serves its own tunnels.
CLUSTER_HEALTH = "onlineconnect.cluster"

# Largest gRPC message the server accepts: a sealed tunnel frame (64 KiB plaintext) plus its framing. Shop
# requests are held to a tighter limit by the relay (MAX_SHOP_REQUEST_BYTES).
MAX_RECEIVE_BYTES = MAX_FRAME_BYTES + 1024
KEEPALIVE_OPTIONS = [
    # Agents ping every 10 s; allow it without strikes.
    ("grpc.http2.min_ping_interval_without_data_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_ping_strikes", 0),
    # Ping idle agents ourselves so a dead one is noticed within about 30 s.
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
]


def connection_limits(config: GatewayConfig) -> list[tuple[str, int]]:
    """gRPC server options bounding each connection: streams at once, and its age.

    A connection older than ``max_connection_age`` is sent GOAWAY (clients reconnect transparently) and closed
    after the grace period with whatever is still in it: the only way to free what gRPC buffers for a shop that
    stopped reading. Agents' tunnels are moved to a fresh connection before that (``Drain``, see
    :mod:`.connect`).
    """
    return [
        ("grpc.max_concurrent_streams", config.max_concurrent_streams),
        ("grpc.max_connection_age_ms", int(config.max_connection_age * 1000)),
        ("grpc.max_connection_age_grace_ms", int(config.max_connection_age_grace * 1000)),
    ]


def _drop_json_names(messages: Any) -> None:
    """Removes ``json_name`` so JSON tools keep the protos' field names (``order_number``), as before."""
    for m in messages:
        for field in m.field:
            field.ClearField("json_name")
        _drop_json_names(m.nested_type)


class DocumentedReflection(reflection.aio.ReflectionServicer):  # type: ignore[misc]
    """Server reflection that serves the API's file descriptors with their comments.

    The generated modules carry no comments, and reflection would describe the API from them; the descriptor set
    written next to them by ``make generate`` does carry them, so for those files its bytes are sent instead.
    ``grpcurl describe`` then shows the documentation a shop developer needs.
    """

    def __init__(self, service_names: list[str]) -> None:
        super().__init__(service_names)
        data = resources.files("onlineconnect.v1").joinpath(DESCRIPTOR_SET).read_bytes()
        files = descriptor_pb2.FileDescriptorSet.FromString(data).file
        for f in files:
            _drop_json_names(f.message_type)
        self._documented = {f.name: f.SerializeToString() for f in files}

    def _with_docs(self, response: Any) -> Any:
        if response.HasField("file_descriptor_response"):
            protos = response.file_descriptor_response.file_descriptor_proto
            for i, raw in enumerate(protos):
                name = descriptor_pb2.FileDescriptorProto.FromString(raw).name
                if name in self._documented:
                    protos[i] = self._documented[name]
        return response

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        return self._with_docs(super()._file_by_filename(request, filename))

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        return self._with_docs(super()._file_containing_symbol(request, fully_qualified_name))


class GatewayServer:
    """A running gateway."""

    def __init__(self, config: GatewayConfig) -> None:
        self.live = LiveConfig(config)
        self.health = GatewayHealth(lambda: self.config)  # tenant health needs a shop key or operator token
        self._health_tasks: set[asyncio.Task[Any]] = set()
        self.auth = Authenticator(config)
        self.registry = Registry(
            list(config.tenants),
            on_health=self._set_tenant_health,
            on_change=lambda tunnel, added: self.metrics.tunnels.changed(tunnel, added),
        )
        self.metrics = GatewayMetrics(self.registry, CALLS)
        self.relay = Relay(self.live, self.auth, self.registry, observe=self.metrics)
        self.metrics.watch_budget(lambda: self.relay.budget.held, lambda: self.config.shop_buffer_bytes)
        self.metrics.watch_cache(lambda: self.relay.cache)
        self.tunnels = TunnelEndpoint(self.live, self.auth, self.registry)
        self.cluster: ClusterLink | None = None  # [cluster]: the link to the other replicas through NATS
        if config.cluster is not None:
            from .cluster import ClusterLink  # needs nats-py (the "cluster" extra): imported only when configured

            self.cluster = ClusterLink(config.cluster, self.relay, on_change=self._cluster_changed)
            self.relay.attach_cluster(self.cluster)
            self.metrics.watch_cluster(self.cluster)
            share_failures(self.relay.guest, self.cluster)  # guest lookup lockouts count every replica's failures
        self.metrics.registry.register(GuestCollector(self.relay.guest))
        self.metrics.watch_reach(self.reachable)
        self.reloader = self.watcher(Path(config.source) if Path(config.source).is_file() else None)
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.agent_port = 0  # the mutual-TLS agent port, if agent_listen is set
        self.http: HttpListener | None = None  # [http]: the Connect protocol listener
        self.http_port = 0

    @property
    def config(self) -> GatewayConfig:
        """The configuration in force."""
        return self.live.current

    def watcher(self, path: Path | None, *, interval: float = 1.0) -> Reloader:
        """A watcher of ``path`` (None: none) that reloads into this server: file changes, SIGHUP (see
        ``__main__``) and key retirement."""
        return Reloader(
            path, current=lambda: self.config, apply=self.apply_config, check_tunnels=self.tunnels.check_live,
            interval=interval,
        )  # fmt: skip

    def apply_config(self, config: GatewayConfig) -> list[str]:
        """Puts a new, validated ``config`` in force and retires tunnels it no longer allows.

        Returns:
            Session ids of the tunnels retired because of the change.
        """
        changed = restart_needed(self.config, config)
        if changed:
            log.warning("config.restart_needed", settings=changed, hint="these settings take effect at the next start")
        self.live.replace(config)
        self.auth.update(config)
        self.relay.apply(config)
        retired = self.tunnels.check_live()
        log.info(
            "config.reloaded",
            source=config.source,
            tenants=len(config.tenants),
            shops=len(config.shops),
            agents=len(config.agents),
            tunnels_retired=len(retired),
        )
        return retired

    def reachable(self, tenant: str) -> bool:
        """True if a shop calling this replica can reach an agent of ``tenant``: over a tunnel held here, or
        through the cluster link to a replica that holds one."""
        if self.registry.tunnels(tenant):
            return True
        return self.cluster is not None and self.cluster.reachable(tenant)

    def _set_tenant_health(self, tenant: str, serving: bool) -> None:
        if self.cluster is not None:  # take calls of the tenant from other replicas while we hold a tunnel of it
            self.cluster.tenant_changed(tenant, serving)
        self._set_health(tenant_health_name(tenant), self.reachable(tenant))

    def _cluster_changed(self) -> None:
        """The link's health or what other replicas hold changed: every tenant's health is looked at again."""
        assert self.cluster is not None
        self._set_health(CLUSTER_HEALTH, self.cluster.connected)
        for tenant in sorted(set(self.registry.counts()) | self.cluster.state.remote_tenants()):
            if tenant in self.config.tenants:
                self._set_health(tenant_health_name(tenant), self.reachable(tenant))

    def _set_health(self, name: str, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        task = asyncio.get_running_loop().create_task(self.health.set(name, status))
        self._health_tasks.add(task)
        task.add_done_callback(self._health_tasks.discard)

    def _credentials(self) -> grpc.ServerCredentials | None:
        if self.config.insecure:
            return None
        assert self.config.tls_cert is not None and self.config.tls_key is not None
        cert = self.config.tls_cert.read_bytes()
        key = self.config.tls_key.read_bytes()
        if self.config.client_ca is not None:
            # gRPC never asks for a client certificate unless it requires one: with a separate agent port the
            # main port stays open to shops without certificates (see _agent_credentials).
            ca = self.config.client_ca.read_bytes()
            required = self.config.agent_listen is None
            return grpc.ssl_server_credentials([(key, cert)], root_certificates=ca, require_client_auth=required)
        return grpc.ssl_server_credentials([(key, cert)])

    def _agent_credentials(self) -> grpc.ServerCredentials:
        """Mutual TLS for ``agent_listen``: the agent must present a certificate signed by ``client_ca``."""
        assert self.config.tls_cert and self.config.tls_key and self.config.client_ca
        pair = (self.config.tls_key.read_bytes(), self.config.tls_cert.read_bytes())
        ca = self.config.client_ca.read_bytes()
        return grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=True)

    async def start(self) -> int:
        """Binds the listen address and starts serving; returns the bound port (useful with port 0)."""
        server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
                *KEEPALIVE_OPTIONS,
                *connection_limits(self.config),
            ],
        )
        server.add_generic_rpc_handlers([*GrpcDoor(self.relay).generic_handlers(), self.tunnels.handler()])
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection_pb2_grpc.add_ServerReflectionServicer_to_server(
            DocumentedReflection(
                [
                    *dict.fromkeys(call.service for call in CALLS),  # the shop services, in the table's order
                    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                    reflection.SERVICE_NAME,
                ]
            ),
            server,
        )
        creds = self._credentials()
        if creds is None:
            port = server.add_insecure_port(self.config.listen)
            log.warning(
                "gateway.plaintext",
                listen=self.config.listen,
                hint="insecure = true: shops and agents talk without TLS; use it on loopback only",
            )
        else:
            port = server.add_secure_port(self.config.listen, creds)
        if port == 0:
            raise OSError(f"cannot bind {self.config.listen}")
        if self.config.agent_listen is not None:
            self.agent_port = server.add_secure_port(self.config.agent_listen, self._agent_credentials())
            if self.agent_port == 0:
                raise OSError(f"cannot bind {self.config.agent_listen}")
        if self.config.http is not None:  # bound before gRPC serves, so a taken port stops the start
            self.http = HttpListener(self.config, HttpDoor(self.live, self.relay))
            self.http_port = await self.http.start()
        if self.cluster is not None:
            await self.health.set(CLUSTER_HEALTH, health_pb2.HealthCheckResponse.NOT_SERVING)  # until connected
            await self.cluster.start()
            # Calls that need another replica would fail while the link connects: give it a moment first.
            await self.cluster.wait_connected(self.config.cluster.ping_timeout if self.config.cluster else 0)
        await server.start()
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self.registry.publish_health()
        self.server, self.port = server, port
        self.reloader.start()
        if self.config.metrics_listen is not None:
            await self.metrics.start(self.config.metrics_listen)
        log.info(
            "gateway.started",
            listen=self.config.listen,
            port=port,
            tls=creds is not None,
            tenants=sorted(self.config.tenants),
        )
        return int(port)

    async def stop(self, grace: float | None = None) -> None:
        """Stops taking calls, waits up to ``grace`` seconds (default: ``[server] drain_grace_seconds``) for
        in-flight calls, then cancels the rest."""
        if self.server is None:
            return
        grace = self.config.drain_grace if grace is None else grace
        if grace > 0:
            grace = await drain(self.relay, self.health, self.tunnels, self.cluster, grace)  # agents move first
        await self.health.enter_graceful_shutdown()
        stops = [self.server.stop(grace)]
        if self.http is not None:  # both doors finish their calls within the same grace period
            stops.append(self.http.stop(grace))
            self.http = None
        await asyncio.gather(*stops)
        self.server = None
        if self.cluster is not None:
            await self.cluster.stop(grace)
        await self.metrics.stop()
        await self.reloader.stop()
        log.info("gateway.stopped")

    async def serve_forever(self, grace: float | None = None) -> None:
        """Runs until SIGINT or SIGTERM, then stops gracefully."""
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in previous:
            loop.add_signal_handler(s, stop.set)
        try:
            await stop.wait()
        finally:
            for s, h in previous.items():
                loop.remove_signal_handler(s)
                signal.signal(s, h)
            await self.stop(grace)

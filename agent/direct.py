"""The agent's own handlers served as a plain gRPC server: no relay, no tunnel, no envelope.

This is the **direct baseline** of ``make bench``: the same request handlers on the same database, called the way a
shop would call them if the ERP were reachable. It has no authentication and must never face a network:
``onlineconnect-agent direct`` refuses anything but a loopback address.

    onlineconnect-agent direct --config agent.toml --listen 127.0.0.1:50052
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import structlog
from google.protobuf.message import Message

from onlineconnect.calls import CALLS, Call
from onlineconnect.config import is_loopback, split_host_port
from onlineconnect.errors import OnlineConnectError

from .context import CallContext
from .handlers import Handlers

log = structlog.get_logger("onlineconnect.agent.direct")


def direct_handlers(handlers: Handlers, tenant: str) -> list[grpc.GenericRpcHandler]:
    """Generic handlers answering every RPC that ``handlers`` serves straight from them."""

    def context(ctx: grpc.aio.ServicerContext) -> CallContext:
        return CallContext.with_timeout(tenant, ctx.time_remaining(), shop="direct")

    def unary(call: Call) -> grpc.RpcMethodHandler:
        async def handle(request: Message, ctx: grpc.aio.ServicerContext) -> Message:
            try:
                return await handlers.unary(call, request, context(ctx))
            except OnlineConnectError as exc:
                await ctx.abort(exc.code, exc.message)
                raise
            except Exception as exc:
                # Never the exception's text: it may carry ERP data or internals. The tunnel path answers alike.
                log.error("direct.call_failed", method=call.method, error=type(exc).__name__)
                await ctx.abort(grpc.StatusCode.INTERNAL, "internal error; see the agent's log")
                raise

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=call.request_type.FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )

    def stream(call: Call) -> grpc.RpcMethodHandler:
        async def handle(request: Message, ctx: grpc.aio.ServicerContext) -> AsyncIterator[Message]:
            try:
                async for chunk in handlers.stream(call, request, context(ctx)):
                    yield chunk
            except OnlineConnectError as exc:
                await ctx.abort(exc.code, exc.message)

        return grpc.unary_stream_rpc_method_handler(
            handle,
            request_deserializer=call.request_type.FromString,
            response_serializer=lambda m: m.SerializeToString(),
        )

    services: dict[str, dict[str, grpc.RpcMethodHandler]] = {}
    for call in CALLS:
        if not handlers.serves(call):
            continue
        services.setdefault(call.service, {})[call.method] = stream(call) if call.streaming else unary(call)
    return [grpc.method_handlers_generic_handler(s, m) for s, m in services.items()]


async def serve_direct(handlers: Handlers, tenant: str, listen: str) -> None:
    """Serves ``handlers`` on ``listen`` (loopback only) until cancelled or SIGTERM."""
    host, _ = split_host_port(listen, ValueError)
    if not is_loopback(host):
        raise ValueError(f"the direct baseline has no authentication and binds loopback only, not {listen!r}")
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(direct_handlers(handlers, tenant))
    port = server.add_insecure_port(listen)
    await server.start()
    log.info("direct.started", listen=listen, port=port)
    try:
        await server.wait_for_termination()
    except asyncio.CancelledError:
        await server.stop(1)
        raise

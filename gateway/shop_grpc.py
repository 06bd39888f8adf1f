"""The gRPC door: OrderService and StockService for shops that speak gRPC, on the relay chain of :mod:`.relay`.

Every shop RPC is registered as a generic handler working on encoded bytes (the request goes to the agent as it
arrived, the answer comes back as the agent encoded it). Unary RPCs are served by a handler that writes its one
answer with ``context.write`` — on the wire a unary answer and a one-message stream are the same — because only
an explicit write can be timed: a shop that never reads (an HTTP/2 receive window of zero) must not keep a call,
its slot or its answer's memory past the call's deadline. A write still blocked at the deadline is given up
(the call ends with ``DEADLINE_EXCEEDED``); its unsent bytes stay booked in the memory budget until the
connection's maximum age has closed the connection (gRPC offers no way to reset one stream from Python).

Errors of the chain are mapped here, once, to gRPC statuses, with ``x-request-id`` and, for rate limits,
``retry-after-ms`` in the trailing metadata.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import structlog

from onlineconnect.calls import CALLS, Call
from onlineconnect.errors import OnlineConnectError

from .ratelimit import RateLimited
from .relay import Relay, ShopCall

log = structlog.get_logger("onlineconnect.gateway.shop_grpc")

# An answer that arrives at the very end of the deadline still gets this long to be handed to the shop.
WRITE_FLOOR = 0.25


class _NotReading(Exception):
    """The shop did not take an answer before the call's deadline."""


class _ShopGone(Exception):
    """The shop's call ended (cancelled, connection lost) while an answer was being written."""


class GrpcDoor:
    """The shop-facing gRPC handlers."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def _write(self, sc: ShopCall, context: grpc.aio.ServicerContext, data: bytes) -> None:
        """Writes one answer message within the call's deadline, its bytes held in the memory budget."""
        loop = asyncio.get_running_loop()
        with self.relay.hold(sc, len(data)):
            try:
                async with asyncio.timeout_at(max(sc.deadline, loop.time() + WRITE_FLOOR)):
                    await context.write(data)
            except TimeoutError:
                self.relay.abandoned(sc, len(data))
                raise _NotReading from None
            except asyncio.CancelledError:
                raise
            except Exception:  # gRPC fails the write of a call that already ended: the shop went away
                raise _ShopGone from None

    async def _serve(self, call: Call, request: bytes, context: grpc.aio.ServicerContext) -> None:
        sc = ShopCall(
            call=call,
            payload=request,
            metadata=context.invocation_metadata() or (),
            timeout=context.time_remaining(),
            protocol="grpc",
            peer=context.peer(),
        )
        code, message = grpc.StatusCode.OK, ""
        trailers: tuple[tuple[str, str], ...] = ()
        try:
            if call.streaming:
                parts = self.relay.stream(sc)
                try:
                    async for chunk in parts:
                        await self._write(sc, context, chunk)
                finally:
                    # Closed here, not whenever the generator is collected: the call's slot and its cancel to the
                    # agent go before the outcome is reported.
                    await parts.aclose()  # type: ignore[attr-defined]
            else:
                await self._write(sc, context, await self.relay.unary(sc))
        except _ShopGone:
            self.relay.finished(sc, grpc.StatusCode.CANCELLED, "the shop went away while the answer was written")
            return
        except _NotReading:
            # gRPC still holds the unsent message, so no status can be sent after it: end the handler as
            # cancelled (no status); the connection's maximum age closes the connection, and the stream with it.
            self.relay.finished(
                sc, grpc.StatusCode.DEADLINE_EXCEEDED, "the shop did not read the answer within the deadline"
            )
            raise asyncio.CancelledError from None
        except OnlineConnectError as exc:
            code, message = exc.code, exc.message
            if isinstance(exc, RateLimited):
                trailers = exc.trailers()
        except asyncio.CancelledError:
            self.relay.finished(sc, grpc.StatusCode.CANCELLED, "the shop cancelled the call")
            raise
        except Exception:
            log.exception("call.internal_error", rpc=call.method, tenant=sc.tenant, request_id=sc.request_id)
            code, message = grpc.StatusCode.INTERNAL, f"internal gateway error (request id {sc.request_id})"
        self.relay.finished(sc, code, message)
        context.set_trailing_metadata((("x-request-id", sc.request_id), *trailers))
        if code != grpc.StatusCode.OK:
            await context.abort(code, message)

    def _handler(self, call: Call) -> grpc.RpcMethodHandler:
        async def handle(request: bytes, context: grpc.aio.ServicerContext) -> None:
            await self._serve(call, request, context)

        return grpc.unary_stream_rpc_method_handler(handle)

    def generic_handlers(self) -> list[grpc.GenericRpcHandler]:
        """One generic handler per service, covering every RPC in the calls table."""
        by_service: dict[str, dict[str, Any]] = {}
        for call in CALLS:
            by_service.setdefault(call.service, {})[call.method] = self._handler(call)
        return [grpc.method_handlers_generic_handler(s, m) for s, m in by_service.items()]

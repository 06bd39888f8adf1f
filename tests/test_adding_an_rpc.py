"""The walk-through "Adding an RPC" of docs/protocol.md, followed step by step with a throwaway service.

``EchoService`` exists only here: its proto is compiled into a temporary folder (step 1, what ``make generate`` does
for the contract), put into the calls table (step 2) and answered by an agent handler registered on the real
:class:`~onlineconnect.agent.handlers.Handlers` (step 3). A shop then calls it through a real gateway and agent over
the sealed tunnel, unary and server-streaming. Leaving out a step makes the call fail, and the tests below show how.
"""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator, Iterator
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import grpc
import pytest

from onlineconnect import calls
from onlineconnect.agent.context import CallContext
from onlineconnect.gateway.http_connect import connect_apps
from onlineconnect.testing import running_relay
from onlineconnect.testing.invariants import demo_handlers
from onlineconnect.v1 import orders_pb2

# Step 1: the RPCs in a proto (for the contract: protos/onlineconnect/v1/*.proto, then `make generate`).
ECHO_PROTO = """
syntax = "proto3";
package walkthrough.v1;

// A throwaway service: one unary and one server-streaming RPC.
service EchoService {
  // Answers the text, upper-cased.
  rpc Echo(EchoRequest) returns (EchoResponse);
  // Answers `count` numbered parts.
  rpc CountTo(CountToRequest) returns (stream CountToResponse);
}

message EchoRequest {
  string customer_number = 1;
  string text = 2;
}

message EchoResponse {
  string text = 1;
}

message CountToRequest {
  string customer_number = 1;
  uint32 count = 2;
}

message CountToResponse {
  uint32 number = 1;
}
"""

SERVICE = "walkthrough.v1.EchoService"
ECHO = f"/{SERVICE}/Echo"
COUNT_TO = f"/{SERVICE}/CountTo"


@pytest.fixture(scope="module")
def echo_pb2(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """Step 1: the generated module of ECHO_PROTO, as protoc writes it (loaded without touching sys.path)."""
    from grpc_tools import protoc

    root = tmp_path_factory.mktemp("protos")
    (root / "walkthrough" / "v1").mkdir(parents=True)
    (root / "walkthrough" / "v1" / "echo.proto").write_text(ECHO_PROTO)
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = ["protoc", f"-I{root}", f"-I{well_known}", f"--python_out={root}", "walkthrough/v1/echo.proto"]
    assert protoc.main(args) == 0
    path = root / "walkthrough" / "v1" / "echo_pb2.py"
    spec = importlib.util.spec_from_file_location("walkthrough_echo_pb2", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class EchoHandlers:
    """Step 3: the agent's handlers of EchoService, one method per RPC named after it in snake case."""

    def echo(self, request: Any, ctx: CallContext) -> Any:
        """Echo, unary: a plain function, so it runs in the agent's worker threads (as database work does)."""
        response_type = calls.BY_PATH[ECHO].response_type
        return response_type(text=f"{request.text.upper()} for {ctx.tenant}")

    async def count_to(self, request: Any, ctx: CallContext) -> AsyncIterator[Any]:
        """CountTo, server-streaming: an async generator of response messages."""
        response_type = calls.BY_PATH[COUNT_TO].response_type
        for number in range(1, request.count + 1):
            yield response_type(number=number)


@pytest.fixture
def table(echo_pb2: ModuleType) -> Iterator[None]:
    """Step 2: one row in the calls table (onlineconnect/calls.py) for the new service; taken out afterwards."""
    calls.add_service(echo_pb2.DESCRIPTOR.services_by_name["EchoService"])
    yield
    calls.remove_service(SERVICE)


def unary(channel: grpc.aio.Channel, response_type: Any) -> Any:
    """The shop's stub for Echo (what ``*_pb2_grpc`` generates)."""
    return channel.unary_unary(
        ECHO, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response_type.FromString
    )


def streaming(channel: grpc.aio.Channel, response_type: Any) -> Any:
    """The shop's stub for CountTo."""
    return channel.unary_stream(
        COUNT_TO, request_serializer=lambda m: m.SerializeToString(), response_deserializer=response_type.FromString
    )


async def test_new_service_answers_through_gateway_and_agent(tmp_path: Path, echo_pb2: ModuleType, table: None) -> None:
    """With the three steps done, a shop calls the new unary and streaming RPCs through the real gateway and agent
    (sealed tunnel, the agent's dispatch table), and the contract's RPCs still answer beside them."""
    handlers, _truth = demo_handlers(tmp_path)
    handlers.register(SERVICE, EchoHandlers())  # step 3
    try:
        async with running_relay(handlers) as relay:
            ch = relay.shop_channel()
            got = await unary(ch, echo_pb2.EchoResponse)(
                echo_pb2.EchoRequest(customer_number="4711", text="hallo"), metadata=relay.shop_auth, timeout=5
            )
            assert got.text == "HALLO for demo"
            # More parts than the gateway's credit window (32): the generic streaming path returns credits.
            parts = [
                p.number
                async for p in streaming(ch, echo_pb2.CountToResponse)(
                    echo_pb2.CountToRequest(customer_number="4711", count=100), metadata=relay.shop_auth, timeout=10
                )
            ]
            assert parts == list(range(1, 101))
            order = await ch.unary_unary(
                "/onlineconnect.v1.OrderService/GetOrder",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=orders_pb2.GetOrderResponse.FromString,
            )(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
                metadata=relay.shop_auth,
                timeout=5,
            )
            assert order.order.summary.order_number == "091782005"
    finally:
        handlers.close()


async def test_without_the_table_row_the_gateway_does_not_serve_it(tmp_path: Path, echo_pb2: ModuleType) -> None:
    """Step 2 left out: the agent refuses to register handlers for a service the table lacks, and the gateway
    answers the shop's call UNIMPLEMENTED."""
    handlers, _truth = demo_handlers(tmp_path)
    try:
        with pytest.raises(ValueError, match="not in the calls table"):
            handlers.register(SERVICE, EchoHandlers())
        async with running_relay(handlers) as relay:
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await unary(relay.shop_channel(), echo_pb2.EchoResponse)(
                    echo_pb2.EchoRequest(text="hallo"), metadata=relay.shop_auth, timeout=5
                )
            assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        handlers.close()


async def test_without_the_handler_the_agent_answers_unavailable(
    tmp_path: Path, echo_pb2: ModuleType, table: None
) -> None:
    """Step 3 left out: the gateway forwards the call, and the agent answers UNAVAILABLE naming the RPC (a gateway
    newer than its agent), for unary and streaming RPCs alike."""
    handlers, _truth = demo_handlers(tmp_path)
    try:
        async with running_relay(handlers) as relay:
            ch = relay.shop_channel()
            with pytest.raises(grpc.aio.AioRpcError) as err:
                await unary(ch, echo_pb2.EchoResponse)(
                    echo_pb2.EchoRequest(text="hallo"), metadata=relay.shop_auth, timeout=5
                )
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "does not answer Echo" in (err.value.details() or "")
            with pytest.raises(grpc.aio.AioRpcError) as err:
                async for _ in streaming(ch, echo_pb2.CountToResponse)(
                    echo_pb2.CountToRequest(count=3), metadata=relay.shop_auth, timeout=5
                ):
                    pass
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "does not answer CountTo" in (err.value.details() or "")
    finally:
        handlers.close()


def test_the_http_door_serves_the_table_and_leaves_a_service_without_connect_module_to_grpc(table: None) -> None:
    """The HTTP/JSON door builds its routes from the calls table: every contract RPC has one, and the new service,
    which has no generated ``*_connect`` module, is served over gRPC only instead of breaking the door."""
    routes = connect_apps(cast(Any, None))
    contract = {c.path for c in calls.CALLS if c.service != SERVICE}
    assert set(routes) == contract
    assert ECHO in calls.BY_PATH and ECHO not in routes


def test_a_handler_of_the_wrong_kind_is_refused_at_registration(tmp_path: Path, table: None) -> None:
    """A streaming RPC needs an async generator and every RPC a handler: registration says which one is wrong,
    before any call arrives."""

    class Wrong:
        def echo(self, request: Any, ctx: CallContext) -> Any:
            return None

        def count_to(self, request: Any, ctx: CallContext) -> Any:
            return iter(())

    handlers, _truth = demo_handlers(tmp_path)
    try:
        with pytest.raises(ValueError, match=r"count_to.*async generator"):
            handlers.register(SERVICE, Wrong())
        with pytest.raises(ValueError, match="has no count_to"):
            handlers.register(SERVICE, type("OnlyEcho", (), {"echo": Wrong.echo})())
    finally:
        handlers.close()

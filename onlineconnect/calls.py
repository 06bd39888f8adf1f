"""The table of shop-facing RPCs, derived from the contract's generated service descriptors.

Each RPC of a service added with :func:`add_service` becomes a :class:`Call`: its gRPC method path, its request and
response message classes and whether its answer streams all come from the method's descriptor. The tunnel carries
the method path and the encoded request and response messages (``AgentRequest.method`` / ``.request``,
``AgentResponse.result``), so neither side mirrors field numbers: the gateway serves, admits and forwards every
call of this table, and the agent dispatches on the path (:class:`onlineconnect.agent.handlers.Handlers`).

What a descriptor cannot say is the table's one row per service here: which of its RPCs the gateway may answer
from its stock cache. Adding an RPC to a contract service therefore needs no change in this module at all, and a
new service one :func:`add_service` line. docs/protocol.md ("Adding an RPC") walks through it.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from . import wire
from .v1 import orders_pb2, stock_pb2


@dataclass(frozen=True)
class Call:
    """One shop-facing RPC.

    Attributes:
        service: Full service name, e.g. ``onlineconnect.v1.OrderService``.
        method: Method name, e.g. ``GetOrder``.
        request_type: Request message class.
        response_type: Response message class.
        streaming: True if the answer is a server stream.
        cacheable: True for stock reads the gateway may cache.
        path: The gRPC method path, ``/onlineconnect.v1.OrderService/GetOrder``; the tunnel names the call by it.
        handler_name: The method name in snake case, ``get_order``: the name of the agent's handler and of the
            Connect door's method (as ``protoc-gen-connectrpc`` names it).
        method_field: ``AgentRequest.method`` holding ``path``, encoded once here for the relay's hot path.
    """

    service: str
    method: str
    request_type: type[Message]
    response_type: type[Message]
    streaming: bool = False
    cacheable: bool = False
    path: str = field(init=False)
    handler_name: str = field(init=False, repr=False)
    method_field: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        path = f"/{self.service}/{self.method}"
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "handler_name", _CAPITAL.sub("_", self.method).lower())
        object.__setattr__(self, "method_field", wire.method_field(path))


_CAPITAL = re.compile(r"(?<!^)(?=[A-Z])")


CALLS: list[Call] = []
BY_PATH: dict[str, Call] = {}
BY_METHOD: dict[str, Call] = {}


def calls_of(service: ServiceDescriptor, *, cacheable: Collection[str] = ()) -> tuple[Call, ...]:
    """The calls of a generated service descriptor, in the order of the proto.

    Args:
        service: E.g. ``orders_pb2.DESCRIPTOR.services_by_name["OrderService"]``.
        cacheable: Names of the methods whose answers the gateway may cache (stock reads only).

    Raises:
        ValueError: a method streams its request (the relay serves unary requests only), or ``cacheable`` names a
            method the service lacks or one that streams.
    """
    unknown = set(cacheable) - set(service.methods_by_name)
    if unknown:
        raise ValueError(f"{service.full_name} has no methods {sorted(unknown)}")
    calls = []
    for m in service.methods:
        if m.client_streaming:
            raise ValueError(f"{service.full_name}.{m.name}: the relay forwards unary requests only")
        if m.server_streaming and m.name in cacheable:
            raise ValueError(f"{service.full_name}.{m.name}: a streaming answer is never cached")
        calls.append(
            Call(
                service=service.full_name,
                method=m.name,
                request_type=GetMessageClass(m.input_type),
                response_type=GetMessageClass(m.output_type),
                streaming=m.server_streaming,
                cacheable=m.name in cacheable,
            )
        )
    return tuple(calls)


def add_service(service: ServiceDescriptor, *, cacheable: Collection[str] = ()) -> tuple[Call, ...]:
    """Puts every RPC of ``service`` into the table (gateway and agent read it); returns the new calls.

    Raises:
        ValueError: the service is in the table already, or one of its method names is (method names are the
            shop keys' scopes, so they are unique across services); see also :func:`calls_of`.
    """
    calls = calls_of(service, cacheable=cacheable)
    taken = [c.method for c in calls if c.method in BY_METHOD]
    if taken:
        raise ValueError(f"{service.full_name}: methods {taken} are in the calls table already")
    CALLS.extend(calls)
    BY_PATH.update((c.path, c) for c in calls)
    BY_METHOD.update((c.method, c) for c in calls)
    return calls


def remove_service(name: str) -> None:
    """Takes the RPCs of the service with full name ``name`` out of the table (tests of a throwaway service)."""
    gone = [c for c in CALLS if c.service == name]
    for c in gone:
        CALLS.remove(c)
        del BY_PATH[c.path]
        del BY_METHOD[c.method]


ORDER_SERVICE = "onlineconnect.v1.OrderService"
STOCK_SERVICE = "onlineconnect.v1.StockService"

# The contract: every RPC of these services is relayed. The only row a descriptor cannot supply: what may be cached.
add_service(orders_pb2.DESCRIPTOR.services_by_name["OrderService"])
add_service(stock_pb2.DESCRIPTOR.services_by_name["StockService"], cacheable={"GetStoreStock", "BatchGetStoreStock"})

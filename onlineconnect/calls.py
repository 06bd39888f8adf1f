"""The table of shop-facing RPCs and how each travels through the tunnel.

One row per RPC ties together the gRPC method, the ``AgentRequest.call`` / ``AgentResponse.result`` oneof
fields that carry it, and whether the answer streams. Gateway and agent both read this table, so adding an RPC
is one row here plus its handler.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from .v1 import orders_pb2, stock_pb2


@dataclass(frozen=True)
class Call:
    """One shop-facing RPC.

    Attributes:
        service: Full service name, e.g. ``onlineconnect.v1.OrderService``.
        method: Method name, e.g. ``GetOrder``.
        request_field: Name of the ``AgentRequest.call`` oneof field.
        response_field: Name of the ``AgentResponse.result`` oneof field.
        request_type: Request message class.
        response_type: Response message class.
        streaming: True if the answer is a server stream.
        cacheable: True for stock reads the gateway may cache.
    """

    service: str
    method: str
    request_field: str
    response_field: str
    request_type: type[Message]
    response_type: type[Message]
    streaming: bool = False
    cacheable: bool = False

    @property
    def path(self) -> str:
        """The gRPC method path, ``/onlineconnect.v1.OrderService/GetOrder``."""
        return f"/{self.service}/{self.method}"


ORDER_SERVICE = "onlineconnect.v1.OrderService"
STOCK_SERVICE = "onlineconnect.v1.StockService"

CALLS: tuple[Call, ...] = (
    Call(
        ORDER_SERVICE,
        "ListOrders",
        "list_orders",
        "list_orders",
        orders_pb2.ListOrdersRequest,
        orders_pb2.ListOrdersResponse,
    ),
    Call(ORDER_SERVICE, "GetOrder", "get_order", "get_order", orders_pb2.GetOrderRequest, orders_pb2.GetOrderResponse),
    Call(
        ORDER_SERVICE,
        "GetInvoicePdf",
        "get_invoice_pdf",
        "invoice_pdf_chunk",
        orders_pb2.GetInvoicePdfRequest,
        orders_pb2.GetInvoicePdfResponse,
        streaming=True,
    ),
    Call(
        ORDER_SERVICE,
        "GetReorderItems",
        "get_reorder_items",
        "get_reorder_items",
        orders_pb2.GetReorderItemsRequest,
        orders_pb2.GetReorderItemsResponse,
    ),
    Call(
        ORDER_SERVICE,
        "LookupGuestOrder",
        "lookup_guest_order",
        "lookup_guest_order",
        orders_pb2.LookupGuestOrderRequest,
        orders_pb2.LookupGuestOrderResponse,
    ),
    Call(
        STOCK_SERVICE,
        "GetStoreStock",
        "get_store_stock",
        "get_store_stock",
        stock_pb2.GetStoreStockRequest,
        stock_pb2.GetStoreStockResponse,
        cacheable=True,
    ),
    Call(
        STOCK_SERVICE,
        "BatchGetStoreStock",
        "batch_get_store_stock",
        "batch_get_store_stock",
        stock_pb2.BatchGetStoreStockRequest,
        stock_pb2.BatchGetStoreStockResponse,
        cacheable=True,
    ),
)

BY_PATH: dict[str, Call] = {c.path: c for c in CALLS}
BY_METHOD: dict[str, Call] = {c.method: c for c in CALLS}
BY_REQUEST_FIELD: dict[str, Call] = {c.request_field: c for c in CALLS}


def call_of(request: Message) -> tuple[Call, Message] | None:
    """The call an ``AgentRequest`` carries and its typed request; None when it carries none this side knows (a
    newer peer's RPC)."""
    call = BY_REQUEST_FIELD.get(request.WhichOneof("call") or "")
    if call is None:
        return None
    inner: Message = getattr(request, call.request_field)
    return call, inner

"""Order and stock inquiry from a Python shop: deadlines, one retry on UNAVAILABLE, status codes mapped for the page.

    OC_GATEWAY=127.0.0.1:50051 OC_API_KEY=demo-shop-key OC_INSECURE=1 python examples/python/shop_client.py

Needs ``pip install onlineconnect`` (for the generated stubs ``onlineconnect.v1``) or stubs generated from
``protos/`` with grpcio-tools.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from typing import TypeVar

import grpc

from onlineconnect.v1 import orders_pb2, orders_pb2_grpc, stock_pb2, stock_pb2_grpc

T = TypeVar("T")

RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}


def with_retry(fn: Callable[[], T], retries: int = 2) -> T:
    """Calls ``fn``; retries UNAVAILABLE / RESOURCE_EXHAUSTED with a short jittered backoff (the agent reconnects)."""
    for attempt in range(retries + 1):
        try:
            return fn()
        except grpc.RpcError as exc:
            if attempt == retries or exc.code() not in RETRYABLE:  # type: ignore[attr-defined]
                raise
            time.sleep(0.2 * 2**attempt + random.random() * 0.1)
    raise AssertionError("unreachable")


def page_error(exc: grpc.RpcError) -> tuple[int, str]:
    """The HTTP status and message a shop page shows for a failed call."""
    code = exc.code()  # type: ignore[attr-defined]
    if code == grpc.StatusCode.NOT_FOUND:
        return 404, "Order not found"  # also another customer's order: never say which
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return 400, exc.details() or "invalid request"  # type: ignore[attr-defined]
    if code in {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}:
        return 503, "Live order status is unavailable right now, please try again later"
    return 500, "unexpected error"  # UNAUTHENTICATED / PERMISSION_DENIED: the shop's key is wrong; alert


def main() -> None:
    """Runs one order, one stock and one failing call and prints a JSON line for each."""
    address = os.environ.get("OC_GATEWAY", "127.0.0.1:50051")
    key = os.environ.get("OC_API_KEY", "demo-shop-key")
    channel = (
        grpc.insecure_channel(address)
        if os.environ.get("OC_INSECURE") == "1"
        else grpc.secure_channel(address, grpc.ssl_channel_credentials())
    )
    auth = (("authorization", f"Bearer {key}"),)
    with channel:
        orders = orders_pb2_grpc.OrderServiceStub(channel)
        stock = stock_pb2_grpc.StockServiceStub(channel)
        resp = with_retry(
            lambda: orders.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4711", order_number="091782005"),
                metadata=(*auth, ("x-request-id", "py-demo-1")),
                timeout=3,
            )
        )
        print(json.dumps({"rpc": "GetOrder", "order_number": resp.order.summary.order_number}))
        st = with_retry(
            lambda: stock.GetStoreStock(stock_pb2.GetStoreStockRequest(sku="851888-XS-KI"), metadata=auth, timeout=3)
        )
        print(json.dumps({"rpc": "GetStoreStock", "first_store": st.stores[0].store.name if st.stores else None}))
        try:
            orders.GetOrder(
                orders_pb2.GetOrderRequest(customer_number="4712", order_number="091782005"), metadata=auth, timeout=3
            )
        except grpc.RpcError as exc:
            status, message = page_error(exc)
            print(json.dumps({"rpc": "GetOrder", "code": exc.code().name, "http": status, "message": message}))  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
